package reconciler

import (
	"math"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// DefaultRunInterval is how often a search runs when neither it nor the
// spec sets an interval: watch mode's default period.
const DefaultRunInterval = time.Hour

// searchPerDay is how many calls a day the search s makes when it runs
// on its own interval, else the spec's (specInterval), else
// DefaultRunInterval: its pages, times the runs of a day. A suspended
// search makes none. The token exchange and the uploads of local images,
// which the client reuses, are not counted.
func searchPerDay(s spec.Search, specInterval time.Duration) float64 {
	if s.Suspend {
		return 0
	}
	every := s.Interval
	if every <= 0 {
		every = specInterval
	}
	if every <= 0 {
		every = DefaultRunInterval
	}
	return float64(searchCalls(s)) * float64(24*time.Hour) / float64(every)
}

// perDay is what the change an offline plan previews does to the watch
// list's calls per day: the searches rep adds count theirs, those it
// removes count theirs off, a search whose query changed counts the
// difference; a search's earlier query comes from before (a removed or
// changed search whose query is unknown there is counted as Unknown, not
// guessed). The total is the spec's, against its api.max_calls_per_day.
func perDay(desired *spec.Spec, recorded *state.State, before Queries, rep *report.ChangeReport) *report.PerDay {
	now := map[string]spec.Search{}
	var total float64
	for _, s := range desired.Searches {
		now[s.Name] = s
		total += searchPerDay(s, desired.Interval)
	}
	earlier := func(name string) (spec.Search, bool) {
		rec := recorded.Searches[name]
		if rec == nil {
			return spec.Search{}, false
		}
		old, ok := before[rec.Fingerprint]
		return old, ok
	}
	var change float64
	unknown := 0
	for _, ch := range rep.Searches {
		switch ch.Status {
		case report.StatusBaseline:
			if !ch.Restored {
				change += searchPerDay(now[ch.Name], desired.Interval)
			}
		case report.StatusRebaseline, report.StatusRemoved:
			old, ok := earlier(ch.Name)
			if !ok {
				unknown++
				continue
			}
			change -= searchPerDay(old, desired.Interval)
			if ch.Status == report.StatusRebaseline {
				change += searchPerDay(now[ch.Name], desired.Interval)
			}
		}
	}
	return &report.PerDay{Change: int(math.Round(change)), Total: int(math.Round(total)), Budget: desired.API.MaxCallsPerDay, Unknown: unknown}
}
