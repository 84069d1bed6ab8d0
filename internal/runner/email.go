package runner

import (
	"context"
	"maps"
	"slices"

	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// MaxEmailPage is the largest HTML part an e-mail gets, its inline images
// counted: past it (a baseline-sized wave of hits, each with its drawing)
// the message goes as plain text only, which every mail server takes.
const MaxEmailPage = 8 << 20

// emailPages renders the HTML part of each e-mail of outbox: the e-mail of
// the message's own events (report.RenderEmail), with the query images
// and the hits' drawings kept as its inline images. The e-mail comes from
// the message, not from this run's change report, since a message is
// resent from the state by a later run; its pictures are those kept when
// it is sent. nil sends plain text only. It is called from one goroutine
// per channel.
func (r *Runner) emailPages(ctx context.Context, sp *spec.Spec, outbox []*state.Message) notify.Pages {
	named := map[string]bool{}
	for _, m := range outbox {
		for _, e := range m.Events {
			if e.Search != "" {
				named[e.Search] = true
			}
		}
	}
	pictures := r.Drawings.Pages(ctx, sp, slices.Sorted(maps.Keys(named)))
	return func(m *state.Message) *report.Email {
		rep := messageReport(m, r.Version)
		page := pictures(rep)
		page.Notification = true
		e, err := report.RenderEmail(rep, page)
		if err != nil {
			r.Log.Warn().Err(err).Str("channel", m.Channel).Msg("the e-mail's HTML part was not made; it goes as plain text")
			return nil
		}
		if e.Size() > MaxEmailPage {
			r.Log.Warn().Str("channel", m.Channel).Int("bytes", e.Size()).
				Msg("the e-mail's HTML part is too large for a mail server; it goes as plain text")
			return nil
		}
		return e
	}
}

// messageReport is the change report a message's events tell: its
// searches with their new and dropped hits (with their decisions) or their
// error, its reports
// finished, failed or in error, in the order of the events.
func messageReport(m *state.Message, version string) *report.ChangeReport {
	rep := &report.ChangeReport{FormatVersion: report.ReportFormatVersion, Command: "apply", GeneratedAt: m.GeneratedAt,
		PatwatchVersion: version, Spec: m.Spec, Simulated: m.Simulated, Changed: true,
		Searches: []report.SearchChange{}, Reports: []report.ReportChange{}}
	searches := map[string]int{}
	search := func(name string) *report.SearchChange {
		i, ok := searches[name]
		if !ok {
			i = len(rep.Searches)
			searches[name] = i
			rep.Searches = append(rep.Searches, report.SearchChange{Name: name, Status: report.StatusOK})
		}
		return &rep.Searches[i]
	}
	for _, e := range m.Events {
		hit := report.HitChange{PatentPN: e.PatentPN, Title: e.Title, Score: e.Score, CurrentAssignee: e.CurrentAssignee,
			Apdt: e.Apdt, Pbdt: e.Pbdt, Link: e.Link, Decision: e.Decision}
		switch {
		case e.Kind == notify.KindNew:
			s := search(e.Search)
			s.New = append(s.New, hit)
		case e.Kind == notify.KindDropped:
			s := search(e.Search)
			s.Dropped = append(s.Dropped, hit)
		case e.Kind == notify.KindError && e.Search != "":
			s := search(e.Search)
			s.Status, s.Error = report.StatusError, e.Error
		case e.Kind == notify.KindFinished:
			rep.Reports = append(rep.Reports, report.ReportChange{Name: e.Report, Patent: e.Patent, Status: report.ReportFinished, File: e.File})
		case e.Kind == notify.KindFailed:
			rep.Reports = append(rep.Reports, report.ReportChange{Name: e.Report, Patent: e.Patent, Status: report.ReportFailed, Error: e.Error})
		case e.Kind == notify.KindError && e.Report == "": // the run's own
			rep.Stopped = &report.Stop{Error: e.Error}
		case e.Kind == notify.KindError:
			rep.Reports = append(rep.Reports, report.ReportChange{Name: e.Report, Status: report.ReportError, Error: e.Error})
		}
	}
	return rep
}
