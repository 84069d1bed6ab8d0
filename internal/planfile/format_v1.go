package planfile

import (
	"maps"
	"slices"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
)

// planV1 is format version 1 of a saved plan. Lists are sorted by name, so
// that the same plan is the same bytes.
type planV1 struct {
	Kind            string                `json:"kind"`
	FormatVersion   int                   `json:"format_version"`
	CreatedAt       time.Time             `json:"created_at"`
	PatwatchVersion string                `json:"patwatch_version"`
	Spec            fileV1                `json:"spec"`
	Decisions       fileV1                `json:"decisions"`
	State           stateV1               `json:"state"`
	Simulated       bool                  `json:"simulated"`
	AllowMassDrop   bool                  `json:"allow_mass_drop"`
	CallsMade       int                   `json:"calls_made"`
	Searches        []searchV1            `json:"searches"`
	Reports         []reportV1            `json:"reports"`
	HeldSearches    []report.SearchChange `json:"held_searches"`
	HeldReports     []report.ReportChange `json:"held_reports"`
}

type fileV1 struct {
	Path   string `json:"path"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

type stateV1 struct {
	Target  string `json:"target"`
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
}

// searchV1 is one search's answer. An unchanged answer holds no hit: the
// state's record stands for them.
type searchV1 struct {
	Name        string  `json:"name"`
	Fingerprint string  `json:"fingerprint"`
	Total       int     `json:"total"`
	Calls       int     `json:"calls"`
	Unchanged   bool    `json:"unchanged,omitempty"`
	Recorded    int     `json:"recorded,omitempty"`
	Hits        []hitV1 `json:"hits,omitempty"`
}

// hitV1 is a hit of an answer: what the state records of it and what a
// change report shows.
type hitV1 struct {
	PatentPN        string  `json:"patent_pn"`
	PatentID        string  `json:"patent_id,omitempty"`
	Title           string  `json:"title,omitempty"`
	Score           float64 `json:"score"`
	CurrentAssignee string  `json:"current_assignee,omitempty"`
	Apno            string  `json:"apno,omitempty"`
	Apdt            int     `json:"apdt,omitempty"`
	Pbdt            int     `json:"pbdt,omitempty"`
	ImageURL        string  `json:"image_url,omitempty"` // presigned; expires
}

// reportV1 is what the plan found apply would do with a report.
type reportV1 struct {
	Name   string              `json:"name"`
	Action report.ReportStatus `json:"action"`
}

func encode(p *Plan) planV1 {
	doc := planV1{
		Kind: Kind, FormatVersion: FormatVersion,
		CreatedAt: p.CreatedAt.UTC(), PatwatchVersion: p.PatwatchVersion,
		Spec: fileV1(p.Spec), Decisions: fileV1(p.Decisions), State: stateV1(p.State),
		Simulated: p.Simulated, AllowMassDrop: p.AllowMassDrop, CallsMade: p.CallsMade,
		Searches: []searchV1{}, Reports: []reportV1{},
		HeldSearches: []report.SearchChange{}, HeldReports: []report.ReportChange{},
	}
	rc := p.Recording
	if rc == nil {
		return doc
	}
	for _, name := range slices.Sorted(maps.Keys(rc.Searches)) {
		doc.Searches = append(doc.Searches, encodeSearch(name, rc.Searches[name]))
	}
	for _, name := range slices.Sorted(maps.Keys(rc.Reports)) {
		doc.Reports = append(doc.Reports, reportV1{Name: name, Action: rc.Reports[name]})
	}
	for _, name := range slices.Sorted(maps.Keys(rc.HeldSearches)) {
		doc.HeldSearches = append(doc.HeldSearches, rc.HeldSearches[name])
	}
	for _, name := range slices.Sorted(maps.Keys(rc.HeldReports)) {
		doc.HeldReports = append(doc.HeldReports, rc.HeldReports[name])
	}
	return doc
}

func encodeSearch(name string, rs reconciler.RecordedSearch) searchV1 {
	s := searchV1{Name: name, Fingerprint: rs.Fingerprint, Total: rs.Total, Calls: rs.Calls, Unchanged: rs.Unchanged, Recorded: rs.Recorded}
	for _, h := range rs.Hits {
		s.Hits = append(s.Hits, hitV1{PatentPN: h.PatentPN, PatentID: h.PatentID, Title: h.Title, Score: h.Score,
			CurrentAssignee: h.CurrentAssignee, Apno: h.Apno, Apdt: h.Apdt, Pbdt: h.Pbdt, ImageURL: h.URL})
	}
	return s
}

func (doc *planV1) decode() *Plan {
	p := &Plan{
		CreatedAt: doc.CreatedAt, PatwatchVersion: doc.PatwatchVersion,
		Spec: File(doc.Spec), Decisions: File(doc.Decisions), State: State(doc.State),
		Simulated: doc.Simulated, AllowMassDrop: doc.AllowMassDrop, CallsMade: doc.CallsMade,
		Recording: &reconciler.Recording{
			Searches:     make(map[string]reconciler.RecordedSearch, len(doc.Searches)),
			Reports:      make(map[string]report.ReportStatus, len(doc.Reports)),
			HeldSearches: make(map[string]report.SearchChange, len(doc.HeldSearches)),
			HeldReports:  make(map[string]report.ReportChange, len(doc.HeldReports)),
		},
	}
	rc := p.Recording
	for _, s := range doc.Searches {
		rs := reconciler.RecordedSearch{Fingerprint: s.Fingerprint, Total: s.Total, Calls: s.Calls, Unchanged: s.Unchanged, Recorded: s.Recorded}
		if len(s.Hits) > 0 {
			rs.Hits = make([]patsnap.Hit, len(s.Hits))
		}
		for i, h := range s.Hits {
			rs.Hits[i] = patsnap.Hit{PatentPN: h.PatentPN, PatentID: h.PatentID, Title: h.Title, Score: h.Score,
				CurrentAssignee: h.CurrentAssignee, Apno: h.Apno, Apdt: h.Apdt, Pbdt: h.Pbdt, URL: h.ImageURL}
		}
		rc.Searches[s.Name] = rs
	}
	for _, r := range doc.Reports {
		rc.Reports[r.Name] = r.Action
	}
	for _, c := range doc.HeldSearches {
		rc.HeldSearches[c.Name] = c
	}
	for _, c := range doc.HeldReports {
		rc.HeldReports[c.Name] = c
	}
	return p
}
