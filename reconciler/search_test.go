package reconciler

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

var (
	t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(6 * time.Hour)
)

func hits(pns ...string) []patsnap.Hit {
	out := make([]patsnap.Hit, len(pns))
	for i, pn := range pns {
		out[i] = patsnap.Hit{PatentPN: pn, Title: "title " + pn, Score: 0.9 - float64(i)*0.01, URL: "http://img/" + pn + "?X-Amz-Signature=s"}
	}
	return out
}

// recorded builds a recorded search whose hits have the given missing counts.
func recorded(fp string, missing map[string]int) *state.Search {
	s := &state.Search{Fingerprint: fp, BaselineAt: t0, Hits: map[string]*state.Hit{}}
	for pn, m := range missing {
		s.Hits[pn] = &state.Hit{FirstSeen: t0, Missing: m, Title: "title " + pn}
	}
	return s
}

func pnsOf(hs []report.HitChange) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.PatentPN)
	}
	sort.Strings(out)
	return out
}

func TestDiffSearch(t *testing.T) {
	search := spec.Search{Name: "s", Fingerprint: "fp1", MaxResults: 100, DropAfter: 1}
	drop2 := search
	drop2.DropAfter = 2
	changedQuery := search
	changedQuery.Fingerprint = "fp2"
	floor := search
	floor.MinScore = 0.885
	top2 := search
	top2.MaxResults = 2

	tests := []struct {
		name        string
		desired     spec.Search
		rec         *state.Search
		obs         SearchObservation
		wantStatus  report.SearchStatus
		wantNew     []string
		wantDropped []string
		wantMissing map[string]int // recorded hits after the run and their missing counts
	}{
		{
			name: "first run is a baseline", desired: search, rec: nil,
			obs:        SearchObservation{Result: &patsnap.SearchResult{Total: 3, Hits: hits("A", "B", "C")}},
			wantStatus: report.StatusBaseline, wantMissing: map[string]int{"A": 0, "B": 0, "C": 0},
		},
		{
			name: "changed query rebaselines without new or dropped", desired: changedQuery, rec: recorded("fp1", map[string]int{"A": 0, "X": 0}),
			obs:        SearchObservation{Result: &patsnap.SearchResult{Total: 2, Hits: hits("A", "B")}},
			wantStatus: report.StatusRebaseline, wantMissing: map[string]int{"A": 0, "B": 0},
		},
		{
			name: "new and dropped", desired: search, rec: recorded("fp1", map[string]int{"A": 0, "B": 0}),
			obs:        SearchObservation{Result: &patsnap.SearchResult{Total: 2, Hits: hits("A", "C")}},
			wantStatus: report.StatusOK, wantNew: []string{"C"}, wantDropped: []string{"B"}, wantMissing: map[string]int{"A": 0, "C": 0},
		},
		{
			name: "no change", desired: search, rec: recorded("fp1", map[string]int{"A": 0, "B": 0}),
			obs:        SearchObservation{Result: &patsnap.SearchResult{Total: 2, Hits: hits("B", "A")}},
			wantStatus: report.StatusOK, wantMissing: map[string]int{"A": 0, "B": 0},
		},
		{
			name: "drop_after 2: missing once is not reported", desired: drop2, rec: recorded("fp1", map[string]int{"A": 0, "B": 0}),
			obs:        SearchObservation{Result: &patsnap.SearchResult{Hits: hits("A")}},
			wantStatus: report.StatusOK, wantMissing: map[string]int{"A": 0, "B": 1},
		},
		{
			name: "drop_after 2: missing twice is dropped", desired: drop2, rec: recorded("fp1", map[string]int{"A": 0, "B": 1}),
			obs:        SearchObservation{Result: &patsnap.SearchResult{Hits: hits("A")}},
			wantStatus: report.StatusOK, wantDropped: []string{"B"}, wantMissing: map[string]int{"A": 0},
		},
		{
			name: "drop_after 2: back before dropping is not new", desired: drop2, rec: recorded("fp1", map[string]int{"A": 0, "B": 1}),
			obs:        SearchObservation{Result: &patsnap.SearchResult{Hits: hits("A", "B")}},
			wantStatus: report.StatusOK, wantMissing: map[string]int{"A": 0, "B": 0},
		},
		{
			name: "a failed search changes nothing", desired: search, rec: recorded("fp1", map[string]int{"A": 0, "B": 1}),
			obs:        SearchObservation{Err: errors.New("boom")},
			wantStatus: report.StatusError, wantMissing: map[string]int{"A": 0, "B": 1},
		},
		{
			name: "a failed first run records nothing", desired: search, rec: nil,
			obs:        SearchObservation{Err: errors.New("boom")},
			wantStatus: report.StatusError, wantMissing: nil,
		},
		{
			name: "an empty answer drops everything", desired: search, rec: recorded("fp1", map[string]int{"A": 0}),
			obs:        SearchObservation{Result: &patsnap.SearchResult{}},
			wantStatus: report.StatusOK, wantDropped: []string{"A"}, wantMissing: map[string]int{},
		},
		{
			name: "min_score ignores low hits", desired: floor, rec: recorded("fp1", map[string]int{"A": 0}),
			// The client left out C (0.88): patsnap.Search applies min_score.
			obs:        SearchObservation{Result: &patsnap.SearchResult{Hits: hits("A", "B")}}, // scores 0.90, 0.89
			wantStatus: report.StatusOK, wantNew: []string{"B"}, wantMissing: map[string]int{"A": 0, "B": 0},
		},
		{
			name: "max_results keeps the top ranks and duplicates count once", desired: top2, rec: recorded("fp1", map[string]int{"A": 0}),
			// The client kept A once and stopped at two: patsnap.Search
			// applies max_results and de-duplicates by patent_pn.
			obs:        SearchObservation{Result: &patsnap.SearchResult{Hits: hits("A", "B")}},
			wantStatus: report.StatusOK, wantNew: []string{"B"}, wantMissing: map[string]int{"A": 0, "B": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before map[string]state.Hit
			if tt.rec != nil {
				before = map[string]state.Hit{}
				for pn, h := range tt.rec.Hits {
					before[pn] = *h
				}
			}
			next, ch := DiffSearch(tt.desired, tt.rec, tt.obs, t1)
			if ch.Status != tt.wantStatus {
				t.Fatalf("status = %q, want %q", ch.Status, tt.wantStatus)
			}
			if got := pnsOf(ch.New); !reflect.DeepEqual(got, tt.wantNew) {
				t.Errorf("new = %v, want %v", got, tt.wantNew)
			}
			if got := pnsOf(ch.Dropped); !reflect.DeepEqual(got, tt.wantDropped) {
				t.Errorf("dropped = %v, want %v", got, tt.wantDropped)
			}
			var gotMissing map[string]int
			if next != nil {
				gotMissing = map[string]int{}
				for pn, h := range next.Hits {
					gotMissing[pn] = h.Missing
				}
				if ch.Hits != len(next.Hits) {
					t.Errorf("hits = %d, want %d", ch.Hits, len(next.Hits))
				}
			}
			if !reflect.DeepEqual(gotMissing, tt.wantMissing) {
				t.Errorf("recorded hits = %v, want %v", gotMissing, tt.wantMissing)
			}
			if tt.rec != nil {
				for pn, h := range tt.rec.Hits {
					if *h != before[pn] {
						t.Errorf("DiffSearch modified the recorded hit %s", pn)
					}
				}
			}
		})
	}
}

func TestDiffSearchKeepsFirstSeenAndStableFacts(t *testing.T) {
	desired := spec.Search{Name: "s", Fingerprint: "fp", MaxResults: 100, DropAfter: 1}
	rec := recorded("fp", map[string]int{"A": 0})
	next, ch := DiffSearch(desired, rec, SearchObservation{Result: &patsnap.SearchResult{Hits: hits("A", "B")}}, t1)
	if !next.Hits["A"].FirstSeen.Equal(t0) {
		t.Errorf("A first seen = %v, want %v (kept)", next.Hits["A"].FirstSeen, t0)
	}
	if !next.Hits["B"].FirstSeen.Equal(t1) {
		t.Errorf("B first seen = %v, want %v", next.Hits["B"].FirstSeen, t1)
	}
	if !next.BaselineAt.Equal(t0) {
		t.Errorf("baseline moved to %v", next.BaselineAt)
	}
	if got := ch.New[0]; got.ImageURL == "" || got.Score == 0 {
		t.Errorf("a new hit lacks its image or score: %+v", got)
	}
}

func TestDecideReport(t *testing.T) {
	desired := spec.Report{Name: "r", PatentNumber: "CN108977442B", Format: "pdf", Logo: true}
	base := state.Report{PatentNumber: "CN108977442B", Format: "pdf", Logo: true, JobID: "1579434053399035905", SubmittedAt: t0}
	with := func(f func(*state.Report)) *state.Report {
		r := base
		f(&r)
		return &r
	}
	now := t0.Add(time.Hour)
	tests := []struct {
		name   string
		rec    *state.Report
		intact bool
		want   reportStep
	}{
		{"no job", nil, false, stepSubmit},
		{"pending job is polled", with(func(r *state.Report) { r.Status = state.ReportPending }), false, stepPoll},
		{"failed job is resubmitted", with(func(r *state.Report) { r.Status = state.ReportFailed }), false, stepSubmit},
		{"intact file is ready", with(func(r *state.Report) { r.Status = state.ReportDownloaded }), true, stepReady},
		{"deleted file is fetched again while the link lives", with(func(r *state.Report) {
			r.Status, r.LinkExpiresAt = state.ReportDownloaded, now.Add(time.Hour)
		}), false, stepPoll},
		{"deleted file after the link expired is resubmitted", with(func(r *state.Report) {
			r.Status, r.LinkExpiresAt = state.ReportDownloaded, now.Add(-time.Hour)
		}), false, stepSubmit},
		{"pending job whose link expired is resubmitted", with(func(r *state.Report) {
			r.Status, r.LinkExpiresAt = state.ReportPending, now
		}), false, stepSubmit},
		{"changed format resubmits", with(func(r *state.Report) { r.Status, r.Format = state.ReportDownloaded, "word" }), true, stepSubmit},
		{"changed logo resubmits", with(func(r *state.Report) { r.Status, r.Logo = state.ReportPending, false }), false, stepSubmit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, why := decideReport(desired, tt.rec, tt.intact, now); got != tt.want {
				t.Errorf("step = %v (%s), want %v", got, why, tt.want)
			}
		})
	}
}

func TestLinkExpiry(t *testing.T) {
	now := time.Date(2024, 11, 26, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name, link string
		want       time.Time
	}{
		{"cos q-sign-time", "https://open.zhihuiya.com/x.docx?sign=q-sign-algorithm%3Dsha1%26q-sign-time%3D1732607317%3B1733212117%26q-key-time%3D1732607317%3B1733212117&response-content-disposition=attachment",
			time.Unix(1733212117, 0).UTC()},
		{"amz", "http://h/x.png?X-Amz-Date=20240311T111032Z&X-Amz-Expires=604800&X-Amz-Signature=abc",
			time.Date(2024, 3, 18, 11, 10, 32, 0, time.UTC)},
		{"expires", "http://127.0.0.1/fake-download/1/x.pdf?expires=1733212117&sign=ab", time.Unix(1733212117, 0).UTC()},
		{"unknown scheme: seven days", "https://h/x.pdf", now.Add(LinkLifetime)},
		{"garbage", "::", now.Add(LinkLifetime)},
	}
	for _, tt := range tests {
		if got := linkExpiry(tt.link, now); !got.Equal(tt.want) {
			t.Errorf("%s: expiry = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDiffSearchKeepsTheFactsFirstRecorded(t *testing.T) {
	desired := spec.Search{Name: "s", Fingerprint: "fp", MaxResults: 100, DropAfter: 1}
	rec := &state.Search{Fingerprint: "fp", BaselineAt: t0, Hits: map[string]*state.Hit{
		"A": {FirstSeen: t0, Title: "Mobile phone", CurrentAssignee: "ACME"},
	}}
	seen := patsnap.Hit{PatentPN: "A", Title: "Mobile phones (EN)", CurrentAssignee: "ACME CORP", PatentID: "id-a", Apdt: 20240101}
	next, _ := DiffSearch(desired, rec, SearchObservation{Result: &patsnap.SearchResult{Hits: []patsnap.Hit{seen}}}, t1)
	got := next.Hits["A"]
	if got.Title != "Mobile phone" || got.CurrentAssignee != "ACME" {
		t.Errorf("recorded facts rewritten: %+v", got)
	}
	if got.PatentID != "id-a" || got.Apdt != 20240101 {
		t.Errorf("missing facts not filled in: %+v", got)
	}
}

func TestConcurrencyFor(t *testing.T) {
	for qps, want := range map[float64]int{0.5: 8, 1: 12, 5: 60, 10: 64, 100: 64} {
		if got := ConcurrencyFor(qps); got != want {
			t.Errorf("ConcurrencyFor(%v) = %d, want %d", qps, got, want)
		}
	}
}

// A scheduled run that finds exactly what is recorded shares the recorded
// value instead of copying every hit: on a state of a million hits the copy
// is most of a no-change apply's memory.
func TestDiffSearchSharesAnUnchangedRecord(t *testing.T) {
	s := spec.Search{Name: "s", Fingerprint: "fp1", DropAfter: 1}
	rec := &state.Search{Fingerprint: "fp1", Hits: map[string]*state.Hit{
		"A": {Title: "a", PatentID: "ia"}, "B": {Title: "b", PatentID: "ib"}}}
	same := []patsnap.Hit{{PatentPN: "B", Title: "b", PatentID: "ib"}, {PatentPN: "A", Title: "other wording", PatentID: "ia"}}
	next, ch := DiffSearch(s, rec, SearchObservation{Result: &patsnap.SearchResult{Total: 2, Hits: same}}, time.Now())
	if next != rec || ch.Status != report.StatusOK || ch.Hits != 2 {
		t.Errorf("unchanged answer: got a new value (%v) or %+v; want the recorded value shared", next != rec, ch)
	}
	rec.Hits["A"].Missing = 1 // seen again after a miss: the count resets, so a new value
	if next, _ := DiffSearch(s, rec, SearchObservation{Result: &patsnap.SearchResult{Hits: same}}, time.Now()); next == rec || next.Hits["A"].Missing != 0 || rec.Hits["A"].Missing != 1 {
		t.Error("a hit seen again after a miss must reset its count in a new value, leaving the recorded one as it was")
	}
}

// TestDiffSearchHoldsAMassDrop checks the guard against a collapse: an
// answer that would lose more than half of the recorded hits at once, at
// least MassDropMin of them, is an error that changes nothing, unless the
// query changed or the spec or flag allows it.
func TestDiffSearchHoldsAMassDrop(t *testing.T) {
	pns := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s%02d", prefix, i))
		}
		return out
	}
	rec := func(present, missing int) *state.Search {
		m := map[string]int{}
		for _, pn := range pns("P", present) {
			m[pn] = 0
		}
		for _, pn := range pns("M", missing) {
			m[pn] = 1
		}
		return recorded("fp1", m)
	}
	search := spec.Search{Name: "s", Fingerprint: "fp1", MaxResults: 100, DropAfter: 3}
	allowed := search
	allowed.AllowMassDrop = true
	requery := search
	requery.Fingerprint = "fp2"
	tests := []struct {
		name    string
		desired spec.Search
		rec     *state.Search
		answer  []string
		want    report.SearchStatus
	}{
		{"every hit gone at once", search, rec(20, 0), nil, report.StatusError},
		{"more than half gone", search, rec(20, 0), pns("P", 9), report.StatusError},
		{"exactly half gone", search, rec(20, 0), pns("P", 10), report.StatusOK},
		{"more than half, but fewer than ten", search, rec(12, 0), pns("P", 3), report.StatusOK},
		{"hits missing already do not count", search, rec(10, 30), nil, report.StatusOK},
		{"the spec allows it", allowed, rec(20, 0), nil, report.StatusOK},
		{"a changed query rebaselines", requery, rec(20, 0), nil, report.StatusRebaseline},
		{"new hits do not hide the loss", search, rec(20, 0), pns("N", 30), report.StatusError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ch := DiffSearch(tt.desired, tt.rec, SearchObservation{Result: &patsnap.SearchResult{Total: len(tt.answer), Hits: hits(tt.answer...)}}, t1)
			if ch.Status != tt.want {
				t.Fatalf("status %q (%s), want %q", ch.Status, ch.Error, tt.want)
			}
			if ch.Status != report.StatusError {
				return
			}
			if next != tt.rec || len(ch.New) != 0 || len(ch.Dropped) != 0 || ch.Hits != len(tt.rec.Hits) {
				t.Errorf("a held answer changed something: next %p (recorded %p), %d new, %d dropped, hits %d", next, tt.rec, len(ch.New), len(ch.Dropped), ch.Hits)
			}
			for _, want := range []string{"would drop", "--allow-mass-drop", "allow_mass_drop: true"} {
				if !strings.Contains(ch.Error, want) {
					t.Errorf("error %q does not say %q", ch.Error, want)
				}
			}
		})
	}
}
