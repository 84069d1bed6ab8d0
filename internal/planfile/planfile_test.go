package planfile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
)

func samplePlan() *Plan {
	return &Plan{
		CreatedAt:       time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
		PatwatchVersion: "v1.2.3",
		Spec:            File{Path: "/w/patwatch.yaml", Name: "patwatch.yaml", SHA256: "ab"},
		Decisions:       File{Path: "/w/patwatch.decisions.yaml", Name: "patwatch.decisions.yaml"},
		State:           State{Target: "/w/patwatch.state.json", Lineage: "l-1", Serial: 4},
		CallsMade:       3,
		Recording: &reconciler.Recording{
			Searches: map[string]reconciler.RecordedSearch{
				"same": {Fingerprint: "fp-1", Total: 9, Calls: 1, Unchanged: true, Recorded: 2},
				"new": {Fingerprint: "fp-2", Total: 1, Calls: 1, Hits: []patsnap.Hit{
					{PatentPN: "CN1S", PatentID: "id", Title: "Phone", Score: 0.9, CurrentAssignee: "ACME", Apno: "a", Apdt: 20240101, Pbdt: 20240601, URL: "https://img.test/1.png"}}},
			},
			Reports:      map[string]report.ReportStatus{"r": report.ReportSubmit},
			HeldSearches: map[string]report.SearchChange{"held": {Name: "held", Status: report.StatusSkipped, Reason: "not selected", New: []report.HitChange{}, Dropped: []report.HitChange{}}},
			HeldReports:  map[string]report.ReportChange{},
		},
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.plan")
	if err := os.WriteFile(path, []byte("an older file, readable by all"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := samplePlan()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (the file it replaced was 0644)", fi.Mode().Perm())
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want.Path = path
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	a, _ := Marshal(want)
	b, _ := Marshal(got)
	if string(a) != string(b) {
		t.Error("the same plan is not the same bytes")
	}
}

func TestReadNamesWhatAFileIs(t *testing.T) {
	for what, content := range map[string]string{
		"a change report":    `{"format_version": "1", "command": "plan", "searches": []}`,
		"a state file":       `{"format_version": 2, "serial": 3, "lineage": "x", "searches": {}}`,
		"a spec":             "version: 1\nsearches:\n  - name: a\n",
		"a decisions file":   "version: 1\ndecisions:\n  CN1S: {verdict: relevant}\n",
		"an HTML page":       "<!DOCTYPE html>\n<html>",
		"an empty file":      "\n",
		"a file of another":  "hello",
		"a JSON file of":     `{"a": 1}`,
		"a change report ":   "Plan of patwatch.yaml at 2026-12-01T08:00:00Z by patwatch dev\n",
		"a change report  ":  "### patwatch apply\n\n",
		"a change report   ": `{"format_version":"1","command":"apply","searches":[]}` + "\n" + `{"format_version":"1","command":"apply","searches":[]}`,
	} {
		_, err := Parse("f", []byte(content))
		if !errors.Is(err, ErrNotAPlan) || !strings.HasPrefix(err.Error(), "f is "+strings.TrimSpace(what)) ||
			!strings.HasSuffix(err.Error(), ", not a saved plan: write one with plan --save") {
			t.Errorf("%q: %v", content, err)
		}
	}
}

func TestReadRefusesUnknownVersions(t *testing.T) {
	_, err := Parse("p", []byte(`{"kind": "patwatch-plan", "format_version": 2}`))
	if err == nil || !strings.Contains(err.Error(), "has format version 2; this patwatch reads up to version 1") || len(hint.Of(err)) == 0 {
		t.Errorf("a newer plan: %v", err)
	}
	if _, err := Parse("p", []byte(`{"kind": "patwatch-plan", "format_version": 1, "surprise": 1}`)); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("an unknown field: %v", err)
	}
}
