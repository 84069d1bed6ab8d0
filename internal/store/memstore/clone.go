package memstore

import (
	"maps"
	"slices"

	"github.com/patwatch/patwatch/state"
)

// clone returns a copy of st that shares nothing with it, with nil maps
// made empty as Load returns them.
func clone(st *state.State) *state.State {
	c := *st
	c.Searches = cloneSearches(st.Searches)
	if c.Searches == nil {
		c.Searches = map[string]*state.Search{}
	}
	c.Reports = cloneReports(st.Reports)
	if c.Reports == nil {
		c.Reports = map[string]*state.Report{}
	}
	c.RetiredSearches = cloneSearches(st.RetiredSearches)
	c.RetiredReports = cloneReports(st.RetiredReports)
	if st.Budget != nil {
		b := *st.Budget
		c.Budget = &b
	}
	c.Outbox = nil
	for _, m := range st.Outbox {
		mc := *m
		mc.Events = slices.Clone(m.Events)
		c.Outbox = append(c.Outbox, &mc)
	}
	return &c
}

func cloneSearches(m map[string]*state.Search) map[string]*state.Search {
	if m == nil {
		return nil
	}
	out := make(map[string]*state.Search, len(m))
	for name, s := range m {
		sc := *s
		sc.Hits = make(map[string]*state.Hit, len(s.Hits))
		for pn, h := range s.Hits {
			hc := *h
			sc.Hits[pn] = &hc
		}
		out[name] = &sc
	}
	return out
}

func cloneReports(m map[string]*state.Report) map[string]*state.Report {
	if m == nil {
		return nil
	}
	out := maps.Clone(m)
	for name, r := range out {
		rc := *r
		out[name] = &rc
	}
	return out
}
