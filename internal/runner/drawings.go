package runner

import (
	"context"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// Drawings is the step of a run that keeps the drawings of hits for HTML
// reports and gives pages their pictures (*drawings.Step). A drawing never
// fails a run or holds up its save: it is shown as missing.
type Drawings interface {
	// Start begins the step of an apply of sp, before its calls, and
	// returns the reconciler's Observe (nil: keep every hit with its
	// link): drawings are fetched while the calls go on. Ending ctx ends
	// what it began.
	Start(ctx context.Context, sp *spec.Spec) func(ch *report.SearchChange, rank int, hit *patsnap.Hit, isNew bool) reconciler.Keep
	// Keep ends the step of the apply once its state is saved, and
	// returns what gathers the pictures of the run's page.
	Keep(ctx context.Context, out *reconciler.Outcome) func() *report.Page
	// End ends what Start began once the run is over, whether Keep was
	// called or not: nothing of the step outlives the run.
	End()
	// Plan returns the pictures of a plan's page, fetched for the page
	// where none is kept, and keeps nothing.
	Plan(ctx context.Context, sp *spec.Spec, rep *report.ChangeReport) *report.Page
	// Pages returns what gathers the pictures of the pages of reports
	// that show only the searches named (e-mails), from what is kept; it
	// is called from several goroutines at once.
	Pages(ctx context.Context, sp *spec.Spec, searches []string) func(*report.ChangeReport) *report.Page
}

// startDrawings begins the drawings step of an apply that refreshes
// searches, before its calls. The returned func ends what it began.
func (r *Runner) startDrawings(ctx context.Context, sp *spec.Spec, rec *reconciler.Reconciler, opts Options) (stop func()) {
	if r.Mode != reconciler.ModeApply || r.Drawings == nil || opts.ReportsOnly {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	rec.Observe = r.Drawings.Start(ctx, sp)
	return func() {
		cancel()
		r.Drawings.End()
	}
}

// keepDrawings ends the drawings step of an apply once its state is
// saved, and gives Page the run's page.
func (r *Runner) keepDrawings(ctx context.Context, out *reconciler.Outcome, opts Options) {
	if r.Drawings == nil || opts.ReportsOnly {
		return
	}
	page := r.Drawings.Keep(ctx, out)
	if r.Page != nil {
		r.Page(page())
	}
}

// PlanPictures gives Page the pictures of a plan's page: those kept, and
// the new hits' and new query images' fetched now, in memory only. A plan
// keeps nothing; an offline plan fetches nothing.
func (r *Runner) PlanPictures(ctx context.Context, sp *spec.Spec, rep *report.ChangeReport) {
	if r.Drawings != nil && r.Page != nil {
		r.Page(r.Drawings.Plan(ctx, sp, rep))
	}
}
