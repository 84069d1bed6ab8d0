package report

import (
	"reflect"
	"testing"
	"time"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

func TestEntries(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	st := &state.State{
		Searches: map[string]*state.Search{
			"live":   {Hits: map[string]*state.Hit{"A": {}}, RefreshedAt: at},
			"paused": {},
			"gone":   {},
		},
		Reports:         map[string]*state.Report{"r": {}},
		RetiredSearches: map[string]*state.Search{"old": {RetiredAt: at}},
	}
	sp := &spec.Spec{Searches: []spec.Search{{Name: "live"}, {Name: "paused", Suspend: true}}, Reports: []spec.Report{{Name: "r"}}}
	until := at.Add(state.RetentionPeriod)
	want := []Entry{
		{Kind: "search", Name: "gone", Status: EntryRemoved},
		{Kind: "search", Name: "live", Status: EntryActive, Hits: 1, LastRefresh: &at},
		{Kind: "search", Name: "old", Status: EntryRetired, RetiredUntil: &until},
		{Kind: "search", Name: "paused", Status: EntrySuspended},
		{Kind: "report", Name: "r", Status: EntryActive},
	}
	if got := Entries(st, sp); !reflect.DeepEqual(got, want) {
		t.Errorf("Entries:\n%+v\nwant\n%+v", got, want)
	}
	// Without a spec, nothing is known to be suspended or removed.
	for _, e := range Entries(st, nil) {
		if e.Status != EntryActive && e.Status != EntryRetired {
			t.Errorf("without a spec, %s is %s", e.Name, e.Status)
		}
	}
}
