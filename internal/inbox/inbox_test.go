package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

type kept map[string]float64 // search/pn → score

func (k kept) Score(search, pn string) float64 { return k[search+"/"+pn] }
func (k kept) Drawing(_ context.Context, search, pn string) report.Picture {
	if _, ok := k[search+"/"+pn]; ok {
		return report.Picture{Image: &report.Image{MediaType: "image/png", Data: []byte(search)}}
	}
	return report.Picture{Missing: "no drawing kept"}
}

func TestBuild(t *testing.T) {
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
	st := &state.State{Searches: map[string]*state.Search{
		"alpha": {BaselineAt: t0, Hits: map[string]*state.Hit{
			"CN1S": {FirstSeen: t0, Title: "baseline"},                        // a baseline hit: never in the inbox
			"CN2S": {FirstSeen: day(1), Title: "two", PatentID: "id2"},        // new, undecided
			"CN3S": {FirstSeen: day(2), Title: "three"},                       // new, decided
			"CN4S": {FirstSeen: day(3), Title: "four", CurrentAssignee: "AC"}, // new here, and in beta
		}},
		"beta": {BaselineAt: day(1), Hits: map[string]*state.Hit{
			"CN4S": {FirstSeen: day(2), Title: "four (beta)"},
			"CN3S": {FirstSeen: day(4), Title: "three"}, // decided in alpha only
			"CN5S": {FirstSeen: day(1), Title: "baseline of beta"},
		}},
	}}
	ds := &spec.Decisions{ByPatent: map[string]spec.Decision{
		"CN3S": {PatentPN: "CN3S", Verdict: spec.VerdictNotRelevant, Searches: []string{"alpha"}},
	}}
	links := spec.Links{Patent: "https://example.com/{patent_pn}"}
	in := Build(st, ds, links, kept{"alpha/CN4S": 0.7, "beta/CN4S": 0.9, "alpha/CN2S": 0.8})
	var got []string
	for _, e := range in.Hits {
		var ss []string
		for _, s := range e.Searches {
			ss = append(ss, s.Name)
		}
		got = append(got, e.PatentPN+" "+e.FirstSeen.Format(time.DateOnly)+" "+strings.Join(ss, ","))
	}
	want := []string{"CN3S 2026-12-05 beta", "CN4S 2026-12-03 beta,alpha", "CN2S 2026-12-02 alpha"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inbox:\n%q\nwant\n%q", got, want)
	}
	if e := in.Hits[1]; e.Title != "four" || e.CurrentAssignee != "AC" || e.Link != "https://example.com/CN4S" || e.Searches[0].Score != 0.9 {
		t.Errorf("CN4S: %+v", e)
	}

	var buf bytes.Buffer
	if err := RenderJSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		FormatVersion string `json:"format_version"`
		Hits          []map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || doc.FormatVersion != "1" || len(doc.Hits) != 3 {
		t.Fatalf("JSON: %v\n%s", err, buf.String())
	}
	for _, k := range []string{"patent_pn", "title", "current_assignee", "first_seen", "link", "searches"} {
		if _, ok := doc.Hits[0][k]; !ok {
			t.Errorf("JSON hit without %q: %v", k, doc.Hits[0])
		}
	}
	if doc.Hits[0]["first_seen"] != "2026-12-05T08:00:00Z" {
		t.Errorf("first_seen %v, want RFC 3339", doc.Hits[0]["first_seen"])
	}

	pics := Page(context.Background(), in, kept{"beta/CN4S": 0.9})
	if p := pics[1]; p.Drawing.Image == nil || string(p.Drawing.Image.Data) != "beta" {
		t.Errorf("CN4S's drawing: %+v", p.Drawing)
	}
	if p := pics[2]; p.Drawing.Image != nil || p.Drawing.Missing == "" {
		t.Errorf("CN2S's drawing: %+v", p.Drawing)
	}
}

func TestEmptyInbox(t *testing.T) {
	in := Build(&state.State{}, nil, spec.Links{}, nil)
	var buf bytes.Buffer
	if err := RenderJSON(&buf, in); err != nil || !strings.Contains(buf.String(), `"hits": []`) {
		t.Errorf("empty JSON inbox: %v %s", err, buf.String())
	}
	buf.Reset()
	if err := RenderText(&buf, in); err != nil || !strings.HasPrefix(buf.String(), "Inbox empty") {
		t.Errorf("empty text inbox: %v %s", err, buf.String())
	}
}
