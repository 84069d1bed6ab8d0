package runner

import (
	"context"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/inbox"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Inbox is the inbox of st under sp's decisions and links (package inbox),
// with the scores kept beside the drawings in dir; page completes p, its
// HTML page, with the drawings.
func Inbox(ctx context.Context, dir string, st *state.State, sp *spec.Spec) (in *inbox.Inbox, page func(p report.InboxPage) *report.InboxPage) {
	kept := drawings.LoadKept(ctx, drawings.InDir(dir))
	in = inbox.Build(st, sp.Decisions, sp.Links, kept)
	return in, func(p report.InboxPage) *report.InboxPage {
		p.Hits = inbox.Page(ctx, in, kept)
		return &p
	}
}
