package runner

import (
	"context"
	"slices"
	"time"

	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// The rhythm of an apply's checkpoints: a save at least every
// MaxCheckpointEvery, and as often as every MinCheckpointEvery when saves
// are cheap; between the two, ten times as long as the last save took, so
// that saving costs a run at most a tenth of its time (a state of a
// million hits takes seconds to write; most take milliseconds).
const (
	MinCheckpointEvery = 5 * time.Second
	MaxCheckpointEvery = 30 * time.Second
	checkpointCost     = 10
)

// checkpoints is the reconciler.Checkpointer of an apply: it saves the
// outcome so far through the store as the final save would (with the calls
// made so far counted against the day's budget, and the notification
// messages of the changes it holds in the same save), so that a run killed
// midway keeps what it completed. A store writes only what changed, and
// an outcome that holds the very records of the state last saved is not
// even given to it (a run that has found nothing new yet over a state of a
// million hits costs no comparison of the whole state).
type checkpoints struct {
	r        *Runner
	ctx      context.Context
	sp       *spec.Spec
	recorded *state.State
	opts     Options
	count    func(out *reconciler.Outcome) // counts the calls made so far into out

	ls     *lease // the apply's lock, proved by each save
	every  time.Duration
	last   time.Time    // the run's start, then the end of the last save
	saved  *state.State // the state last saved; recorded before one
	failed bool         // a save failed: said once, tried again all the same
}

func (r *Runner) newCheckpoints(ctx context.Context, ls *lease, sp *spec.Spec, recorded *state.State, opts Options, started time.Time, count func(*reconciler.Outcome)) *checkpoints {
	return &checkpoints{r: r, ctx: ctx, ls: ls, sp: sp, recorded: recorded, opts: opts, count: count,
		every: MinCheckpointEvery, last: started, saved: recorded}
}

// Due reports whether the rhythm calls for a save now.
func (c *checkpoints) Due() bool { return c.r.now().Sub(c.last) >= c.every }

// Save saves out, and sets the time to the next save by how long it took.
// A save that fails is logged and leaves the run going: the save at the
// run's end says whether the run was kept.
func (c *checkpoints) Save(out *reconciler.Outcome) {
	r := c.r
	started := r.now()
	c.count(out)
	r.stamp(out.Report, c.opts)
	r.prepareSave(c.sp, c.recorded, out)
	if !keeps(c.recorded, out.State) || sameRecords(c.saved, out.State) {
		c.last = r.now()
		return
	}
	// Saved even when the run's context ended, under the lock's proof:
	// what completed is kept.
	written, err := c.ls.checkpoint(c.ctx, out)
	if err == nil {
		c.saved = out.State
	}
	c.last = r.now()
	c.every = min(max(MinCheckpointEvery, checkpointCost*c.last.Sub(started)), MaxCheckpointEvery)
	switch {
	case err != nil && !c.failed:
		c.failed = true
		r.Log.Warn().Err(err).Msg("the run's progress could not be saved; it goes on, and its end saves all it did")
	case err != nil:
		r.Log.Debug().Err(err).Msg("checkpoint not saved")
	default:
		r.Log.Debug().Bool("written", written).Uint64("serial", out.State.Serial).Dur("took", c.last.Sub(started)).Msg("checkpoint saved")
	}
}

// sameRecords reports whether next holds the very records of prev, entry
// for entry, the same messages and the same count of the day's calls. The
// reconciler shares a record it did not change (it never modifies one), so
// this is what an outcome that changed nothing yet looks like.
func sameRecords(prev, next *state.State) bool {
	return samePointers(prev.Searches, next.Searches) && samePointers(prev.Reports, next.Reports) &&
		samePointers(prev.RetiredSearches, next.RetiredSearches) && samePointers(prev.RetiredReports, next.RetiredReports) &&
		slices.EqualFunc(prev.Outbox, next.Outbox, func(a, b *state.Message) bool { return a.ID == b.ID }) &&
		(prev.Budget == next.Budget || prev.Budget != nil && next.Budget != nil && *prev.Budget == *next.Budget)
}

func samePointers[T any](a, b map[string]*T) bool {
	if len(a) != len(b) {
		return false
	}
	for name, rec := range a {
		if b[name] != rec {
			return false
		}
	}
	return true
}
