package runner

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// DefaultBaselineDrawings is how many drawings of a search's baseline a run
// keeps unless told otherwise (--baseline-drawings).
const DefaultBaselineDrawings = drawings.DefaultBaseline

// DrawingsDir is the directory a command keeps the drawings of a state in:
// dir, the store's own place for them (store.Store.DrawingsDir), or, when
// base is set (--drawings-dir, for a read-only spec directory), a
// directory of base named as dir is, so that states sharing base keep
// their drawings apart there too.
func DrawingsDir(dir, base string) string {
	if base == "" {
		return dir
	}
	return drawings.InDir(dir).In(base).Dir()
}

// NewDrawings is the drawings step of the runs that keep their drawings in
// dir: baseline drawings of each new search's best-ranked hits, and the
// drawing of every new hit after it.
func NewDrawings(dir string, baseline int, log zerolog.Logger, now func() time.Time) *drawings.Step {
	return &drawings.Step{Cache: drawings.InDir(dir), Baseline: baseline, Log: log, Now: now}
}

// Gallery completes g, show's HTML page of st, with every hit each search
// of st holds and the drawings and query images kept in dir, best score
// first. links fills in durable links (nil: none), ds each hit's decision
// in its search (nil: none).
func Gallery(ctx context.Context, g report.Gallery, dir string, st *state.State, links *spec.Links, ds *spec.Decisions) *report.Gallery {
	g.Serial = st.Serial
	g.Searches = drawings.Gallery(ctx, drawings.InDir(dir), st, links)
	for _, s := range g.Searches {
		for i := range s.Hits {
			s.Hits[i].Decision = string(ds.For(s.Name, s.Hits[i].PatentPN))
		}
	}
	return &g
}
