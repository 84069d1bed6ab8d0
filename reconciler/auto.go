package reconciler

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Automatic value reports are reports named spec.AutoReportName(pn) that
// a run adds to the spec's own; from there on they live exactly like
// declared ones (submitted, polled, downloaded, finished once, retired
// when nothing asks for them). What asks for one:
//
//   - a decision with verdict report on the patent (origin decision, pdf);
//   - a hit that a search with auto_report holds, that was reported new
//     and scored at least its min_score when the report was first
//     ordered, and that no decision in the search calls not_relevant
//     (origin auto, in the auto_report's format).
//
// No report is ordered for a patent the spec declares a report of the
// same format on. The scope knows the standing ones before any call
// (standingAutos): those decisions ask for and those already recorded that
// are still asked for. A run adds, after its searches, the new ones the
// answers qualify (pass.addAutos): at most max_per_run per search and
// run, best score first; the rest wait while their search holds them. A
// hit whose number says PatSnap cannot report on it (spec.Unreportable) is
// skipped, said in the run that reports it new; one the API refused is
// recorded as refused (refusedRecord) and never submitted again.

// autoOrigin says why an automatic report is asked for.
type autoOrigin struct {
	kind   string  // report.OriginAuto or report.OriginDecision
	search string  // auto: the search that holds the hit
	score  float64 // auto: its score in this run's answer; 0 unknown
}

// autos are the automatic reports a scope knows before any call.
type autos struct {
	reports []spec.Report
	origins map[string]autoOrigin
	// refused are the records of automatic reports still asked for that
	// the API refused: held as they are, silently, never submitted again.
	refused map[string]*state.Report
}

// formatKey is a patent number and a report format.
type formatKey struct{ pn, format string }

// declaredReports are the patents and formats the spec's own reports ask for.
func declaredReports(desired *spec.Spec) map[formatKey]bool {
	out := map[formatKey]bool{}
	for _, r := range desired.Reports {
		if r.PatentNumber != "" {
			out[formatKey{r.PatentNumber, r.Format}] = true
		}
	}
	return out
}

// standingAutos are the automatic reports desired and recorded ask for
// before any call: those report decisions ask for, then the recorded ones
// a search still asks for, by name.
func standingAutos(desired *spec.Spec, recorded *state.State) autos {
	a := autos{origins: map[string]autoOrigin{}, refused: map[string]*state.Report{}}
	declared := declaredReports(desired)
	add := func(pn, format string, o autoOrigin) {
		name := spec.AutoReportName(pn)
		if _, ok := a.origins[name]; ok || declared[formatKey{pn, format}] {
			return
		}
		a.origins[name] = o
		if rec := recorded.Reports[name]; rec != nil && refusedRecord(rec) {
			a.refused[name] = rec
			return
		}
		a.reports = append(a.reports, autoReport(pn, format))
	}
	if ds := desired.Decisions; ds != nil {
		for _, pn := range slices.Sorted(maps.Keys(ds.ByPatent)) {
			if ds.ByPatent[pn].Verdict == spec.VerdictReport {
				add(pn, spec.DefaultAutoFormat, autoOrigin{kind: report.OriginDecision})
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(recorded.Reports)) {
		rec := recorded.Reports[name]
		if !spec.IsAutoReportName(name) || rec.PatentNumber == "" {
			continue
		}
		if search := autoHolder(desired, recorded, rec.PatentNumber, rec.Format); search != "" {
			add(rec.PatentNumber, rec.Format, autoOrigin{kind: report.OriginAuto, search: search})
		}
	}
	return a
}

// autoHolder is the first search of desired with an auto_report of format
// that holds pn (with the query it had when the report was ordered), not
// decided not_relevant there; "" when none does.
func autoHolder(desired *spec.Spec, recorded *state.State, pn, format string) string {
	for _, s := range desired.Searches {
		if s.AutoReport == nil || s.AutoReport.Format != format || desired.Decisions.For(s.Name, pn) == spec.VerdictNotRelevant {
			continue
		}
		if rec := recorded.Searches[s.Name]; rec != nil && rec.Fingerprint == s.Fingerprint {
			if rec.Hits[pn] != nil {
				return s.Name
			}
		}
	}
	return ""
}

func autoReport(pn, format string) spec.Report {
	return spec.Report{Name: spec.AutoReportName(pn), PatentNumber: pn, Format: format, Logo: true}
}

// refusedRecord reports whether rec records a creation the API refused as
// a request it cannot serve: failed, with no job and no lost answer. Only
// automatic reports are recorded so (see decideStep).
func refusedRecord(rec *state.Report) bool {
	return rec.Status == state.ReportFailed && rec.JobID == "" && rec.OutcomeUnknownAt.IsZero()
}

// refusal is the record of an automatic report whose creation the API
// refused with cause.
func refusal(desired spec.Report, cause string, now time.Time) *state.Report {
	return &state.Report{PatentNumber: desired.PatentNumber, PatentID: desired.PatentID, Format: desired.Format, Logo: desired.Logo,
		Status: state.ReportFailed, SubmittedAt: now.UTC().Truncate(time.Second), LastError: "refused: " + cause}
}

// autoCandidate is a hit of a refreshed search with auto_report that meets
// it in this run's answer.
type autoCandidate struct {
	pn    string
	score float64
	isNew bool // reported new in this run
}

// autoCandidates are the hits of s's answer hits that meet its
// auto_report: reported new in this run (ch) or held by next (the
// search's new record) as reported new before (first seen after its
// baseline), scoring at least min_score, not decided not_relevant. A
// search that is not refreshed as usual (a baseline, an error) has none.
func autoCandidates(s spec.Search, next *state.Search, hits []patsnap.Hit, ch report.SearchChange, ds *spec.Decisions) []autoCandidate {
	if s.AutoReport == nil || ch.Status != report.StatusOK || next == nil {
		return nil
	}
	isNew := make(map[string]bool, len(ch.New))
	for _, h := range ch.New {
		isNew[h.PatentPN] = true
	}
	var out []autoCandidate
	for _, h := range hits {
		rec := next.Hits[h.PatentPN]
		if rec == nil || !isNew[h.PatentPN] && !rec.FirstSeen.After(next.BaselineAt) || h.Score < s.AutoReport.MinScore ||
			ds.For(s.Name, h.PatentPN) == spec.VerdictNotRelevant {
			continue
		}
		out = append(out, autoCandidate{pn: h.PatentPN, score: h.Score, isNew: isNew[h.PatentPN]})
	}
	return out
}

// addAutos adds to the pass the automatic reports this run's answers ask
// for (cands, by search name): per search in spec order, best score first,
// at most max_per_run new ones that sel selects. It fills in the score of
// the standing ones, and says once, in the run that reports it new, why a
// hit whose number PatSnap cannot report on gets none.
func (p *pass) addAutos(cands map[string][]autoCandidate, sel Selection) {
	declared := declaredReports(p.desired)
	var added []spec.Report
	for _, s := range p.desired.Searches {
		cs := slices.Clone(cands[s.Name])
		slices.SortStableFunc(cs, func(a, b autoCandidate) int { return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.pn, b.pn)) })
		taken := 0
		for _, c := range cs {
			name := spec.AutoReportName(c.pn)
			if o, ok := p.origins[name]; ok {
				if o.kind == report.OriginAuto && o.search == s.Name && o.score == 0 {
					o.score = c.score
					p.origins[name] = o
				}
				continue
			}
			if declared[formatKey{c.pn, s.AutoReport.Format}] || p.refusedBefore(name) {
				continue
			}
			o := autoOrigin{kind: report.OriginAuto, search: s.Name, score: c.score}
			if why := spec.Unreportable(c.pn); why != "" {
				if c.isNew {
					p.unreportable = append(p.unreportable, report.ReportChange{Name: name, Patent: c.pn, Status: report.ReportSkipped,
						Reason: why + "; it gets no report", Origin: o.kind, Search: o.search, Score: o.score})
				}
				continue
			}
			if taken >= s.AutoReport.MaxPerRun || !sel.selects([]string{name}) {
				continue // it waits for a later run
			}
			taken++
			p.origins[name] = o
			added = append(added, autoReport(c.pn, s.AutoReport.Format))
		}
	}
	if len(added) == 0 {
		return
	}
	d := *p.desired
	d.Reports = append(slices.Clip(d.Reports), added...)
	p.desired = &d
	p.rn = findRenames(p.desired, p.recorded)
	prior := priorRecords(p.desired, p.recorded, p.rn, p.now)
	p.prior.reports, p.prior.restoredReport = prior.reports, prior.restoredReport
	p.prog.ReportsTotal = len(d.Reports)
}

// refusedBefore reports whether the API refused the automatic report name
// before: its record, retired or not, says so.
func (p *pass) refusedBefore(name string) bool {
	for _, recs := range []map[string]*state.Report{p.recorded.Reports, p.recorded.RetiredReports} {
		if rec := recs[name]; rec != nil && refusedRecord(rec) {
			return true
		}
	}
	return false
}

// setOrigins says in rep where each report comes from: origins holds the
// automatic ones asked for in the run; any other report named like one
// was automatic, and every other report is the spec's.
func setOrigins(rep *report.ChangeReport, origins map[string]autoOrigin) {
	for i := range rep.Reports {
		r := &rep.Reports[i]
		switch o, ok := origins[r.Name]; {
		case r.Origin != "":
		case ok:
			r.Origin, r.Search, r.Score = o.kind, o.search, o.score
		case spec.IsAutoReportName(r.Name):
			r.Origin = report.OriginAuto
		default:
			r.Origin = report.OriginSpec
		}
	}
}
