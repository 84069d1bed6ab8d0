package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
)

func TestPushSerial(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	mk := func(lineage string, serial uint64, fingerprint string) *state.State {
		st := state.New()
		st.Lineage, st.Serial, st.PatwatchVersion = lineage, serial, "v"+lineage
		st.Searches["s"] = &state.Search{Fingerprint: "sha256:" + strings.Repeat(fingerprint, 64), BaselineAt: at}
		return st
	}
	cur := mk("a", 5, "1")
	sameOtherVersion := mk("a", 5, "1")
	sameOtherVersion.PatwatchVersion = "another"
	tests := []struct {
		name    string
		cur     *state.State
		pushed  *state.State
		force   bool
		want    uint64
		refusal PushRefusal
	}{
		{"no state yet", nil, mk("a", 3, "1"), false, 3, 0},
		{"newer", cur, mk("a", 7, "2"), false, 7, 0},
		{"the same state", cur, mk("a", 5, "1"), false, 5, 0},
		{"the same content by another patwatch", cur, sameOtherVersion, false, 5, 0},
		{"other content at the same serial", cur, mk("a", 5, "2"), false, 0, PushOtherContent},
		{"older", cur, mk("a", 4, "1"), false, 0, PushOlder},
		{"another lineage", cur, mk("b", 9, "1"), false, 0, PushOtherLineage},
		{"forced: other content", cur, mk("a", 5, "2"), true, 6, 0},
		{"forced: older", cur, mk("a", 2, "2"), true, 6, 0},
		{"forced: another lineage, lower", cur, mk("b", 1, "1"), true, 6, 0},
		{"forced: another lineage, higher", cur, mk("b", 9, "1"), true, 9, 0},
		{"forced: the same state", cur, mk("a", 5, "1"), true, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PushSerial(tt.cur, tt.pushed, tt.force)
			var pe *PushError
			switch {
			case tt.refusal != 0 && (!errors.As(err, &pe) || pe.Refusal != tt.refusal):
				t.Fatalf("PushSerial: %d, %v; want refusal %d", got, err, tt.refusal)
			case tt.refusal == 0 && (err != nil || got != tt.want):
				t.Fatalf("PushSerial: %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestPushErrorNamesBoth(t *testing.T) {
	_, err := PushSerial(&state.State{Lineage: "a", Serial: 5}, &state.State{Lineage: "a", Serial: 4}, false)
	var pe *PushError
	if !errors.As(err, &pe) {
		t.Fatalf("%v; want a *PushError", err)
	}
	pe.Target, pe.Source = "db", "old.json"
	if got, want := pe.Error(), "db is at serial 5, and old.json at 4: it is older; not replacing the newer state"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if !strings.Contains(pe.Hint(), "--force") {
		t.Errorf("hint %q does not name --force", pe.Hint())
	}
}
