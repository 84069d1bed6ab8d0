package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
)

// manySearches is a spec of n searches s00, s01, …, each with its own image
// URL; entry(i) may replace the default lines of search i.
func manySearches(n int, head string, entry func(i int) string) string {
	var b strings.Builder
	b.WriteString("version: 1\n" + head + "searches:\n")
	for i := range n {
		if entry != nil {
			if e := entry(i); e != "" {
				b.WriteString(e)
				continue
			}
		}
		fmt.Fprintf(&b, "  - name: s%02d\n    image: https://images.test/s%02d.png\n    patent_type: D\n    model: 1\n", i, i)
	}
	return b.String()
}

// apiCalls are the API calls the fake received since its log was reset:
// every request but the token exchange and downloads, each as its
// endpoint and, for a search, the image it asked about.
func (h *harness) apiCalls() []string {
	var out []string
	for _, r := range h.api.Requests() {
		switch r.Endpoint {
		case fake.EndpointToken, fake.EndpointDownload:
			continue
		case fake.EndpointSearchSingle:
			var body struct {
				URL    string `json:"url"`
				Offset int    `json:"offset"`
			}
			_ = json.Unmarshal(r.Body, &body)
			out = append(out, fmt.Sprintf("%s %s@%d", r.Endpoint, strings.TrimPrefix(body.URL, "https://images.test/"), body.Offset))
		default:
			out = append(out, string(r.Endpoint))
		}
	}
	slices.Sort(out)
	return out
}

// stateRecords returns each search's and report's record in the state file
// as its bytes there.
func (h *harness) stateRecords() map[string]string {
	h.t.Helper()
	var st struct {
		Searches map[string]json.RawMessage `json:"searches"`
		Reports  map[string]json.RawMessage `json:"reports"`
	}
	if err := json.Unmarshal(h.stateBytes(), &st); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for n, raw := range st.Searches {
		out["search "+n] = string(raw)
	}
	for n, raw := range st.Reports {
		out["report "+n] = string(raw)
	}
	return out
}

func statuses(rep *report.ChangeReport) map[string]string {
	out := map[string]string{}
	for _, s := range rep.Searches {
		out[s.Name] = string(s.Status)
	}
	for _, r := range rep.Reports {
		out["report "+r.Name] = string(r.Status)
	}
	return out
}

// TestWatchReconcilesOnlyWhatTheEditTouched is issue 13's measure: in a
// watch of 50 searches, an edit of one search makes exactly that search's
// calls, and an edit of a comment, of white space or of the order of keys
// makes none.
func TestWatchReconcilesOnlyWhatTheEditTouched(t *testing.T) {
	h := newHarness(t, fake.Options{})
	base := manySearches(50, "", nil)
	h.writeSpec(base)
	w := startWatch(t, h)
	if runs := w.waitRuns(1); len(runs[0].Searches) != 50 || runs[0].Calls.Made == nil || *runs[0].Calls.Made != 50 {
		t.Fatalf("first run: %d searches, calls %+v; want 50 baselines in 50 calls", len(runs[0].Searches), runs[0].Calls)
	}

	h.api.ResetRequests()
	h.writeSpec(strings.Replace(base, "image: https://images.test/s17.png\n", "image: https://images.test/s17.png\n    max_results: 20\n", 1))
	run := w.waitRuns(2)[1]
	if got, want := h.apiCalls(), []string{"search-single s17.png@0"}; !slices.Equal(got, want) {
		t.Errorf("after an edit of s17: calls %q, want %q", got, want)
	}
	for name, st := range statuses(&run) {
		if want := map[bool]string{true: "rebaseline", false: "skipped"}[name == "s17"]; st != want {
			t.Errorf("after an edit of s17: %s is %s, want %s", name, st, want)
		}
	}
	if run.Calls.Estimated != 1 || run.Calls.Made == nil || *run.Calls.Made != 1 {
		t.Errorf("after an edit of s17: calls %+v, want 1 estimated and 1 made", run.Calls)
	}

	edited := strings.Replace(base, "image: https://images.test/s17.png\n", "image: https://images.test/s17.png\n    max_results: 20\n", 1)
	for i, noop := range []string{
		"# the watch list of the design team\n" + edited,
		strings.ReplaceAll(edited, "    model: 1\n", "    model:   1   \n"),
		strings.Replace(edited, "    patent_type: D\n    model: 1\n", "    model: 1\n    patent_type: D\n", 1),
	} {
		h.api.ResetRequests()
		h.writeSpec(noop)
		run := w.waitRuns(3 + i)[2+i]
		if calls := h.apiCalls(); len(calls) != 0 {
			t.Errorf("edit %d that touches no entry: calls %q, want none", i, calls)
		}
		if run.Changed || run.Calls.Estimated != 0 || run.Calls.Made == nil || *run.Calls.Made != 0 {
			t.Errorf("edit %d that touches no entry: changed %v, calls %+v", i, run.Changed, run.Calls)
		}
	}
	if code := w.stop(); code != exitOK {
		t.Errorf("exit %d, want 0", code)
	}
}

// TestApplyTargetCallsOnlyItAndKeepsEveryOtherRecord: --target makes the
// named entry's calls only and leaves every other record byte for byte;
// --exclude the reverse; an unknown name is refused with a suggestion.
func TestApplyTargetCallsOnlyItAndKeepsEveryOtherRecord(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: 1})
	h.writeSpec(manySearches(6, "", nil) + oneReportEntries)
	if code, _, errOut := h.apply(); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, errOut)
	}
	h.api.Advance() // every query's results move on
	before := h.stateRecords()

	h.api.ResetRequests()
	code, rep, errOut := h.apply("--target", "s03", "-target", "s04")
	if code != exitOK {
		t.Fatalf("--target: exit %d\n%s", code, errOut)
	}
	if got, want := h.apiCalls(), []string{"search-single s03.png@0", "search-single s04.png@0"}; !slices.Equal(got, want) {
		t.Errorf("--target s03 --target s04: calls %q, want %q", got, want)
	}
	after := h.stateRecords()
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if k == "search s03" || k == "search s04" {
			if after[k] == before[k] {
				t.Errorf("%s was targeted after the corpus moved on, and its record did not change", k)
			}
			continue
		}
		if after[k] != before[k] {
			t.Errorf("%s was not targeted and its record changed:\nbefore %s\nafter  %s", k, before[k], after[k])
		}
		name := strings.TrimPrefix(strings.TrimPrefix(k, "search "), "report ")
		if st := statuses(rep)[strings.TrimPrefix(k, "search ")]; strings.HasPrefix(k, "search") && st != "skipped" {
			t.Errorf("%s: status %s, want skipped", name, st)
		}
	}
	if st := statuses(rep)["report cn108977442b"]; st != "skipped" {
		t.Errorf("the untargeted report: %s, want skipped", st)
	}

	h.api.ResetRequests()
	before = h.stateRecords()
	if code, _, errOut := h.apply("--exclude", "s00", "--exclude", "cn108977442b"); code != exitOK {
		t.Fatalf("--exclude: exit %d\n%s", code, errOut)
	}
	for _, c := range h.apiCalls() {
		if strings.Contains(c, "s00.png") || strings.HasPrefix(c, "report") {
			t.Errorf("--exclude s00 --exclude cn108977442b: call %q", c)
		}
	}
	if after := h.stateRecords(); after["search s00"] != before["search s00"] || after["report cn108977442b"] != before["report cn108977442b"] {
		t.Error("an excluded entry's record changed")
	}

	h.api.ResetRequests()
	code, out, errOut := h.run(context.Background(), "apply", "--target", "s3")
	if code != exitError || out != "" || !strings.Contains(errOut, "patwatch: error: --target s3: no search or report of that name") ||
		!strings.Contains(errOut, "patwatch: hint: did you mean --target s03?") {
		t.Errorf("an unknown --target: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	if calls := h.apiCalls(); len(calls) != 0 {
		t.Errorf("an unknown --target made calls: %q", calls)
	}
}

const oneReportEntries = `reports:
  - name: cn108977442b
    patent_number: CN108977442B
`

// TestDailyBudgetAcrossThreeRuns: api.max_calls_per_day is counted in the
// state per UTC day; a run leaves out, as errors that keep their records,
// the searches whose worst case no longer fits, and the next day those go
// first.
func TestDailyBudgetAcrossThreeRuns(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.clock.Set(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	h.writeSpec(manySearches(2, "api:\n  max_calls_per_day: 3\n", func(i int) string {
		return fmt.Sprintf("  - name: s%02d\n    image: https://images.test/s%02d.png\n    patent_type: D\n    model: 1\n    max_results: 200\n", i, i)
	}))

	// Day 1: s00 (2 pages) fits in 3, s01 (2 more) does not.
	code, rep, _ := h.apply()
	if code != exitError {
		t.Errorf("run 1: exit %d, want 1 (a search was left out)", code)
	}
	s01 := searchByName(t, rep, "s01")
	if searchByName(t, rep, "s00").Status != report.StatusBaseline || s01.Status != report.StatusError || !strings.Contains(s01.Error, "daily budget reached") || !s01.Deferred {
		t.Errorf("run 1: %+v", rep.Searches)
	}
	if calls := h.apiCalls(); len(calls) != 2 {
		t.Errorf("run 1: calls %q, want s00's two pages", calls)
	}
	if b := h.state().Budget; b == nil || b.Day != "2026-12-01" || b.Calls != 2 {
		t.Errorf("run 1: budget %+v, want 2 calls on 2026-12-01", b)
	}

	// Day 1 again: 1 call left, too few for either: nothing is called or written.
	h.clock.Advance(6 * time.Hour)
	h.api.ResetRequests()
	written := h.stateBytes()
	code, rep, _ = h.apply()
	if code != exitError || rep.StateChanged {
		t.Errorf("run 2: exit %d, state changed %v; want 1 and no write", code, rep.StateChanged)
	}
	for _, s := range rep.Searches {
		if s.Status != report.StatusError || !strings.Contains(s.Error, "daily budget reached") || !s.Deferred {
			t.Errorf("run 2: %+v; want every search deferred by the budget", s)
		}
	}
	if calls := h.apiCalls(); len(calls) != 0 {
		t.Errorf("run 2: calls %q, want none", calls)
	}
	if string(h.stateBytes()) != string(written) {
		t.Error("run 2 rewrote the state")
	}

	// Day 2: the budget starts again, and s01, left out yesterday, goes first.
	h.clock.Set(time.Date(2026, 12, 2, 0, 30, 0, 0, time.UTC))
	h.api.ResetRequests()
	_, rep, _ = h.apply()
	if searchByName(t, rep, "s01").Status != report.StatusBaseline || searchByName(t, rep, "s00").Status != report.StatusError {
		t.Errorf("run 3: %+v; want s01's baseline, s00 left for later", rep.Searches)
	}
	if calls := h.apiCalls(); len(calls) != 2 || !strings.Contains(calls[0], "s01") {
		t.Errorf("run 3: calls %q, want s01's two pages", calls)
	}
	if b := h.state().Budget; b == nil || b.Day != "2026-12-02" || b.Calls != 2 {
		t.Errorf("run 3: budget %+v, want 2 calls on 2026-12-02", b)
	}
	if rep.Calls.Estimated != 2 || *rep.Calls.Made != 2 {
		t.Errorf("run 3: calls %+v", rep.Calls)
	}
}

// TestMaxCallsRefusesARunBeforeAnyCall: a run whose worst case passes
// api.max_calls is refused before any call with a hint; a narrower one
// runs; plan --offline shows the worst case of the next apply.
func TestMaxCallsRefusesARunBeforeAnyCall(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(manySearches(3, "api:\n  max_calls: 2\n", nil))

	code, rep, _ := h.report("plan", "--offline")
	if code != exitOK || rep.Calls.Estimated != 3 || rep.Calls.Made != nil {
		t.Errorf("plan --offline: exit %d, calls %+v; want 3 estimated and none made", code, rep.Calls)
	}
	code, out, errOut := h.run(context.Background(), "apply")
	if code != exitError || out != "" || !strings.Contains(errOut, "could make up to 3 API calls, more than api.max_calls allows (2)") ||
		!strings.Contains(errOut, "patwatch: hint: run part of the watch list with --target NAME") {
		t.Errorf("apply over max_calls: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	if n := len(h.api.Requests()); n != 0 {
		t.Errorf("a refused run sent %d requests", n)
	}
	if _, err := os.Stat(h.path("patwatch.state.json")); err == nil {
		t.Error("a refused run wrote the state")
	}
	if code, rep, errOut := h.apply("--exclude", "s02"); code != exitOK || rep.Calls.Estimated != 2 || *rep.Calls.Made != 2 {
		t.Errorf("apply --exclude s02: exit %d, calls %+v\n%s", code, rep.Calls, errOut)
	}
}

// TestApplyDueOnlyRefreshesOnTheSearchesOwnInterval: with --due-only a
// search with its own interval is refreshed once it has passed since its
// recorded refresh; one without is refreshed every run; only the former
// has its refresh recorded.
func TestApplyDueOnlyRefreshesOnTheSearchesOwnInterval(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.clock.Set(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	h.writeSpec(manySearches(2, "", func(i int) string {
		if i == 0 {
			return "  - name: weekly\n    image: https://images.test/weekly.png\n    patent_type: D\n    model: 1\n    interval: 7d\n"
		}
		return ""
	}))
	if code, _, errOut := h.apply("--due-only"); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(string(h.stateBytes()), `"refreshed": {`) {
		t.Errorf("the refresh of the search with its own interval was not recorded:\n%s", h.stateBytes())
	}
	st := h.state()
	if got := st.Searches["weekly"].RefreshedAt; !got.Equal(h.clock.Now()) {
		t.Errorf("weekly refreshed at %v, want %v", got, h.clock.Now())
	}
	if got := st.Searches["s01"].RefreshedAt; !got.IsZero() {
		t.Errorf("s01, without an interval, has a refresh recorded: %v", got)
	}

	for _, c := range []struct {
		after  time.Duration
		weekly string
	}{
		{24 * time.Hour, "skipped"},
		{5 * 24 * time.Hour, "skipped"},
		{2 * 24 * time.Hour, "ok"}, // 8 days after its refresh
		{24 * time.Hour, "skipped"},
	} {
		h.clock.Advance(c.after)
		h.api.ResetRequests()
		code, rep, errOut := h.apply("--due-only")
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		weekly := searchByName(t, rep, "weekly")
		if string(weekly.Status) != c.weekly || searchByName(t, rep, "s01").Status != report.StatusOK {
			t.Errorf("at %v: weekly %+v, s01 %s", h.clock.Now(), weekly, searchByName(t, rep, "s01").Status)
		}
		wantCalls := []string{"search-single s01.png@0"}
		if c.weekly == "ok" {
			wantCalls = append([]string{"search-single s01.png@0"}, "search-single weekly.png@0")
		}
		if got := h.apiCalls(); !slices.Equal(got, wantCalls) {
			t.Errorf("at %v: calls %q, want %q", h.clock.Now(), got, wantCalls)
		}
	}
	// Without --due-only, apply refreshes everything.
	h.api.ResetRequests()
	if _, rep, _ := h.apply(); searchByName(t, rep, "weekly").Status != report.StatusOK {
		t.Errorf("apply without --due-only: %+v", rep.Searches)
	}
}
