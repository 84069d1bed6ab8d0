package watch

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/state"
)

// StandbyTurn is how long a standby waits for the watch lock at a time:
// after each turn it says again who holds it, if another does now (a third
// watch that took over before it).
const StandbyTurn = time.Minute

// WatchLock takes a state's watch lock, waiting up to timeout for its
// holder (store.Store's LockWatch); a refusal matches state.ErrLocked and
// names the holder.
type WatchLock func(ctx context.Context, timeout time.Duration) (unlock func() error, err error)

// Standby takes the watch lock for a watch started with --standby: while
// another watch holds it, Standby logs who, once for each holder, and
// waits, taking it as soon as the holder ends or dies (as soon as the
// lock's store sees it gone: at once for a state file, when its session
// ends for PostgreSQL). It returns what lock returns once the lock is
// taken, another error of lock's, or ctx's error when ctx ends first.
func Standby(ctx context.Context, lock WatchLock, log zerolog.Logger) (unlock func() error, err error) {
	unlock, err = lock(ctx, 0)
	held := ""
	for errors.Is(err, state.ErrLocked) {
		if err.Error() != held {
			held = err.Error()
			log.Info().Msg(held + "; standing by to take over when it ends")
		}
		unlock, err = lock(ctx, StandbyTurn)
	}
	switch {
	case ctx.Err() != nil:
		if err == nil {
			unlock()
		}
		return nil, ctx.Err()
	case err == nil && held != "":
		log.Info().Msg("taking over: the watch that held the state has ended")
	}
	return unlock, err
}
