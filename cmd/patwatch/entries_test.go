package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
)

// entriesHarness is a harness whose state holds alpha and beta, beta
// retired from the spec, and a report; gamma is in the spec and suspended.
func entriesHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, fake.Options{})
	h.writeSpec(searchesAndReport)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	if code, _, errOut := h.apply(); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	h.writeSpec(`
version: 1
searches:
  - name: alpha
    image: https://images.test/a.png
    patent_type: D
    model: 1
    max_results: 50
  - name: gamma
    image: https://images.test/c.png
    patent_type: D
    model: 1
    suspend: true
reports:
  - name: cn1
    patent_number: CN108977442B
    format: pdf
`)
	if code, _, errOut := h.apply(); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	return h
}

func TestShowNames(t *testing.T) {
	h := entriesHarness(t)
	code, out, errOut := h.run(context.Background(), "show", "alpha")
	if code != exitOK || !strings.Contains(out, "search alpha") || strings.Contains(out, "report cn1") || !strings.Contains(out, "A2") {
		t.Errorf("show alpha: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = h.run(context.Background(), "show", "--format", "json", "cn1", "alpha")
	var st struct {
		Searches map[string]json.RawMessage `json:"searches"`
		Reports  map[string]json.RawMessage `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != exitOK || err != nil || len(st.Searches) != 1 || len(st.Reports) != 1 {
		t.Errorf("show --format json cn1 alpha: exit %d, %v\n%s", code, err, out)
	}
	for name, want := range map[string]string{
		"alpah": "patwatch: error: the state holds no search or report alpah\npatwatch: hint: did you mean alpha?\n",
		"beta": "patwatch: error: beta is retired: it left the spec, and the state keeps it only for taking it back\n" +
			"patwatch: hint: patwatch state list shows it with the day it goes; patwatch state rm beta forgets it now\n",
	} {
		code, out, errOut := h.run(context.Background(), "show", name)
		if code != exitError || out != "" || errOut != want {
			t.Errorf("show %s: exit %d\nstdout %q\nstderr %q\nwant %q", name, code, out, errOut, want)
		}
	}
}

func TestStateListAgainstShow(t *testing.T) {
	h := entriesHarness(t)
	code, out, errOut := h.run(context.Background(), "state", "list", "--format", "json")
	if code != exitOK {
		t.Fatalf("state list: exit %d\n%s", code, errOut)
	}
	var list struct {
		FormatVersion string         `json:"format_version"`
		Entries       []report.Entry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || list.FormatVersion != "1" {
		t.Fatalf("state list --format json: %v\n%s", err, out)
	}
	got := map[string]report.Entry{}
	for _, e := range list.Entries {
		got[e.Kind+" "+e.Name] = e
	}
	_, shown, _ := h.run(context.Background(), "show", "--format", "json")
	var st struct {
		Searches map[string]struct {
			Hits map[string]json.RawMessage `json:"hits"`
		} `json:"searches"`
		Reports map[string]json.RawMessage `json:"reports"`
	}
	if err := json.Unmarshal([]byte(shown), &st); err != nil {
		t.Fatal(err)
	}
	for name, s := range st.Searches {
		if e := got["search "+name]; e.Status != report.EntryActive || e.Hits != len(s.Hits) {
			t.Errorf("search %s: listed %+v; show has %d hits", name, e, len(s.Hits))
		}
	}
	for name := range st.Reports {
		if e := got["report "+name]; e.Status != report.EntryActive {
			t.Errorf("report %s: listed %+v", name, e)
		}
	}
	beta := got["search beta"]
	if beta.Status != report.EntryRetired || beta.RetiredUntil == nil || beta.Hits != 1 {
		t.Errorf("the retired search is listed as %+v", beta)
	}
	if len(list.Entries) != len(st.Searches)+len(st.Reports)+1 {
		t.Errorf("state list lists %d entries; show has %d searches and %d reports, and beta is retired",
			len(list.Entries), len(st.Searches), len(st.Reports))
	}

	code, out, _ = h.run(context.Background(), "state", "list")
	if code != exitOK || !regexp.MustCompile(`(?m)^search  beta   retired until \d{4}-\d\d-\d\d  1 `).MatchString(out) || !strings.HasPrefix(out, "KIND") {
		t.Errorf("state list:\n%s", out)
	}
}

func TestApplyRebaseline(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	if code, _, errOut := h.apply(); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	h.api.SetResults(imgA, -1, fakeHits("A3")...)
	h.api.SetResults(imgB, -1, fakeHits("B1", "B2")...)
	code, rep, errOut := h.apply("--rebaseline", "alpha")
	if code != exitOK {
		t.Fatalf("apply --rebaseline: exit %d\n%s", code, errOut)
	}
	alpha := searchByName(t, rep, "alpha")
	if alpha.Status != report.StatusRebaseline || len(alpha.New) != 0 || len(alpha.Dropped) != 0 || alpha.Hits != 1 {
		t.Errorf("alpha: %+v; want a rebaseline of 1 hit, none new or dropped", alpha)
	}
	if beta := searchByName(t, rep, "beta"); !reflect.DeepEqual(pns(beta.New), []string{"B2"}) {
		t.Errorf("beta: %+v; want B2 new as usual", beta)
	}
	if hits := h.state().Searches["alpha"].Hits; len(hits) != 1 || hits["A3"] == nil {
		t.Errorf("alpha records %v, want A3 alone", hits)
	}
	code, _, errOut = h.run(context.Background(), "apply", "--rebaseline", "alhpa")
	if code != exitError || !strings.Contains(errOut, "did you mean --rebaseline alpha?") {
		t.Errorf("an unknown name: exit %d\n%s", code, errOut)
	}
}

func TestStateRm(t *testing.T) {
	h := entriesHarness(t)
	before := h.stateBytes()
	code, _, errOut := h.run(context.Background(), "state", "rm", "beta", "alpha")
	if code != exitError || !strings.Contains(errOut, "search alpha is still in the spec") ||
		!strings.Contains(errOut, "hint: remove alpha from the spec first") {
		t.Errorf("state rm of a live entry: exit %d\n%s", code, errOut)
	}
	if !bytes.Equal(h.stateBytes(), before) {
		t.Error("a refused state rm changed the state")
	}
	code, out, errOut := h.run(context.Background(), "state", "rm", "beta")
	if code != exitOK || out != "Forgot search beta.\n" {
		t.Errorf("state rm beta: exit %d\n%s%s", code, out, errOut)
	}
	if st := h.state(); st.RetiredSearches["beta"] != nil || st.Searches["alpha"] == nil {
		t.Errorf("after state rm beta: retired %v, alpha %v", st.RetiredSearches, st.Searches["alpha"] != nil)
	}
	code, _, errOut = h.run(context.Background(), "state", "rm", "bta")
	if code != exitError || !strings.Contains(errOut, "the state holds no search or report bta") {
		t.Errorf("state rm of an unknown name: exit %d\n%s", code, errOut)
	}
}
