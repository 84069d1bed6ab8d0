package pgstore

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
)

// TestModelledKeysExist keeps the lists of modelled JSON keys in step
// with the state's types: a key renamed there would otherwise be neither a
// column nor extra. It logs the keys that go to extra today.
func TestModelledKeysExist(t *testing.T) {
	for _, c := range []struct {
		typ      reflect.Type
		modelled []string
	}{
		{reflect.TypeFor[state.State](), topModelled},
		{reflect.TypeFor[state.Search](), searchModelled},
		{reflect.TypeFor[state.Hit](), hitModelled},
		{reflect.TypeFor[state.Report](), reportModelled},
	} {
		keys := jsonKeys(c.typ)
		for _, k := range c.modelled {
			if !slices.Contains(keys, k) {
				t.Errorf("%s has no JSON key %q, which the tables model", c.typ, k)
			}
		}
		for _, k := range keys {
			if !slices.Contains(c.modelled, k) {
				t.Logf("%s.%s is kept in jsonb (extra or state_fields)", c.typ, k)
			}
		}
	}
}

// TestExtraRoundTrips is the path a field the tables do not model takes:
// out of the JSON into extra, through canonical form, and back.
func TestExtraRoundTrips(t *testing.T) {
	type later struct {
		Fingerprint string         `json:"fingerprint"`
		BaselineAt  time.Time      `json:"baseline_at"`
		RefreshedAt time.Time      `json:"refreshed_at,omitzero"`
		Counters    map[string]int `json:"counters,omitempty"`
		Big         uint64         `json:"big"`
		Note        string         `json:"note"`
	}
	in := later{Fingerprint: "f", BaselineAt: t0, RefreshedAt: t0.Add(time.Hour), Counters: map[string]int{"b": 2, "a": 1}, Big: 1<<64 - 1, Note: "<&>"}
	extra, err := extraOf(&in, searchModelled)
	if err != nil {
		t.Fatal(err)
	}
	if extra, err = canonicalJSON(extra); err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	json.Unmarshal(extra, &keys)
	if _, ok := keys["fingerprint"]; ok || len(keys) != 4 {
		t.Errorf("extra %s: want the four unmodelled keys only", extra)
	}
	out := later{Fingerprint: "f", BaselineAt: t0}
	if err := json.Unmarshal(extra, &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Errorf("read back %+v (%v), want %+v", out, err, in)
	}
	if again, _ := canonicalJSON(extra); string(again) != string(extra) {
		t.Errorf("canonical form is not stable: %s then %s", extra, again)
	}
}
