package statefile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/internal/statetest"
)

// FuzzLoad is the differential test of the codec: whatever Load accepts,
// Save can write (Marshal does not refuse it), and what it writes loads
// back to the same state and marshals to the same bytes again.
func FuzzLoad(f *testing.F) {
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	samples, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, path := range append(goldens, samples...) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		statetest.StateWith(`{"s":`+statetest.ValidSearch+`}`, `{}`),
		`{"searches":{"s":` + statetest.ValidSearch + `},"lineage":"x","format_version":1}`,
		statetest.StateWith(`{"s":{"fingerprint":`+statetest.ValidFingerprint+`,"baseline_at":"2026-01-01T01:00:00.5+01:00","hits":{"A":{"first_seen":null,"title":"\u2028\ud83d\ude00\"","missing":null}}}}`, `null`),
		statetest.StateWith(`{}`, `{"r":{"format":"word","status":"failed","logo":null,"link_expires_at":"2026-02-03T04:05:06-07:00"}}`),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _, err := decodeState(bytesInput(b), loading)
		if err != nil {
			return
		}
		first, err := Marshal(st)
		if err != nil {
			t.Fatalf("Load accepted a state that Marshal refuses: %v\n%q", err, b)
		}
		again, _, err := decodeState(bytesInput(first), loading)
		if err != nil {
			t.Fatalf("Load refuses what Marshal wrote: %v\n%s", err, first)
		}
		if !reflect.DeepEqual(again, st) {
			t.Fatalf("what Marshal wrote loads differently:\n%s", first)
		}
		second, err := Marshal(again)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("Marshal is not idempotent (%v):\n%s\n%s", err, first, second)
		}
		// A check reads what a load reads.
		if _, _, err := decodeState(bytesInput(b), checking); err != nil {
			t.Fatalf("a check refuses what Load accepts: %v", err)
		}
	})
}

// hitV1 is a hit as a struct, for the library to read and write: the
// members that hitFields describes, in its order.
type hitV1 struct {
	FirstSeen       timestamp `json:"first_seen"`
	Missing         int       `json:"missing,omitzero"`
	PatentID        text      `json:"patent_id,omitzero"`
	Title           text      `json:"title,omitzero"`
	CurrentAssignee text      `json:"current_assignee,omitzero"`
	Apno            text      `json:"apno,omitzero"`
	Apdt            int       `json:"apdt,omitzero"`
	Pbdt            int       `json:"pbdt,omitzero"`
}

// FuzzHitsAgreeWithLibrary holds the hit codec, which reads and writes
// hits token by token, to the library's reflective reading and writing of
// hitV1: the same input is accepted by both (with the ranges that a state
// checks) and gives the same hits, and the same hits are written as the
// same bytes.
func FuzzHitsAgreeWithLibrary(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"A":{"first_seen":"2026-01-02T03:04:05Z"}}`,
		`{"A":{"first_seen":"2026-01-02T03:04:05Z","missing":3,"patent_id":"p","title":"t","current_assignee":"c","apno":"a","apdt":20200101,"pbdt":20200102}}`,
		`{"B":{"pbdt":1,"apdt":2,"apno":"x","current_assignee":null,"title":"\u00e9\u2028\\\"","patent_id":"","missing":0,"first_seen":null},"A":{}}`,
		`{"A":{"first_seen":"2026-01-02T03:04:05.999+02:00","title":"手机"}}`,
		`{"\u0041":{"ti\u0074le":"escaped names"}}`,
		`{"A":{"missing":-1}}`, `{"A":{"missing":1.5}}`, `{"A":{"missing":2147483648}}`, `{"A":{"title":5}}`,
		`{"A":{"colour":"red"}}`, `{"A":{"title":"a","title":"b"}}`, `{"A":{},"A":{}}`, `{"A":[]}`,
		`{"A":{"first_seen":"2026-02-30T00:00:00Z"}}`, `{"A":{"first_seen":5}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var viaLibrary map[string]*hitV1
		libErr := json.Unmarshal(b, &viaLibrary, json.RejectUnknownMembers(true))
		for pn, h := range viaLibrary {
			if pn == "" || h == nil || h.Missing < 0 || h.Missing > state.MaxCount || h.Apdt < 0 || h.Apdt > state.MaxCount || h.Pbdt < 0 || h.Pbdt > state.MaxCount {
				libErr = errors.New("out of the ranges a state checks")
			}
		}
		r := &reader{in: bytesInput(b), pass: loading}
		hits := hitMap{r: r, search: "s"}
		dec := jsontext.NewDecoder(bytes.NewReader(b))
		err := json.UnmarshalDecode(dec, &hits)
		if err == nil {
			err = finish(r.in, dec)
		}
		// A state refuses null hits, which the library reads as no map.
		if err == nil && hits.null {
			err = errors.New("null")
		}
		if libErr == nil && viaLibrary == nil {
			libErr = errors.New("null")
		}
		if (err == nil) != (libErr == nil) {
			t.Fatalf("the hits code says %v, the library %v, for %q", err, libErr, b)
		}
		if err != nil {
			return
		}
		want := map[string]*state.Hit{}
		for pn, h := range viaLibrary {
			want[pn] = &state.Hit{
				FirstSeen: time.Time(h.FirstSeen), Missing: h.Missing, PatentID: string(h.PatentID), Title: string(h.Title),
				CurrentAssignee: string(h.CurrentAssignee), Apno: string(h.Apno), Apdt: h.Apdt, Pbdt: h.Pbdt,
			}
		}
		if !reflect.DeepEqual(hits.m, want) {
			t.Fatalf("the hits code reads %q differently from the library", b)
		}
		// And writes them as the library writes hitV1.
		got, err := appendHits(nil, hits.m)
		if err != nil {
			t.Fatal(err)
		}
		wantBytes, err := json.Marshal(viaLibrary, json.Deterministic(true), jsontext.PreserveRawStrings(true))
		if err != nil {
			t.Fatal(err)
		}
		// (The library writes map keys itself, without escaping U+2028.)
		if !bytes.Equal(got, wantBytes) && !keysHave(hits.m, "\u2028\u2029") {
			t.Fatalf("the hits code writes\n%s\nthe library\n%s", got, wantBytes)
		}
	})
}

func keysHave(m map[string]*state.Hit, chars string) bool {
	for k := range m {
		if strings.ContainsAny(k, chars) {
			return true
		}
	}
	return false
}
