package watch

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/state"
)

// heldBy is a refusal of the watch lock naming its holder.
type heldBy string

func (h heldBy) Error() string        { return "state is watched by " + string(h) }
func (h heldBy) Is(target error) bool { return target == state.ErrLocked }

// TestStandbySaysWhoHoldsTheLock: a standby says who holds the watch
// lock, once for each holder, waits in turns of StandbyTurn, and says when
// it takes over.
func TestStandbySaysWhoHoldsTheLock(t *testing.T) {
	answers := []error{heldBy("a"), heldBy("a"), heldBy("b"), nil}
	var timeouts []time.Duration
	lock := func(ctx context.Context, timeout time.Duration) (func() error, error) {
		timeouts = append(timeouts, timeout)
		err := answers[0]
		answers = answers[1:]
		if err != nil {
			return nil, err
		}
		return func() error { return nil }, nil
	}
	var logs bytes.Buffer
	unlock, err := Standby(context.Background(), lock, zerolog.New(&logs))
	if err != nil || unlock == nil {
		t.Fatalf("Standby: %v", err)
	}
	if want := []time.Duration{0, StandbyTurn, StandbyTurn, StandbyTurn}; !slices.Equal(timeouts, want) {
		t.Errorf("waited %v, want %v", timeouts, want)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "watched by a; standing by") ||
		!strings.Contains(lines[1], "watched by b; standing by") || !strings.Contains(lines[2], "taking over") {
		t.Errorf("logged:\n%s\nwant each holder once, then the takeover", logs.String())
	}

	// A watch that finds the lock free says nothing.
	logs.Reset()
	answers = []error{nil}
	if _, err := Standby(context.Background(), lock, zerolog.New(&logs)); err != nil || logs.Len() != 0 {
		t.Errorf("a free lock: %v, logged %q", err, logs.String())
	}
}

// TestStandbyEndsWithItsContext: a standby stopped while it waits returns
// its context's error, and another error of the lock's as it is.
func TestStandbyEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	lock := func(ctx context.Context, timeout time.Duration) (func() error, error) {
		if timeout == 0 {
			return nil, heldBy("a")
		}
		cancel()
		return nil, errors.Join(errors.New("lock state"), ctx.Err())
	}
	if _, err := Standby(ctx, lock, zerolog.Nop()); err != context.Canceled {
		t.Errorf("Standby: %v, want context.Canceled", err)
	}
	broken := errors.New("connection refused")
	failing := func(context.Context, time.Duration) (func() error, error) { return nil, broken }
	if _, err := Standby(context.Background(), failing, zerolog.Nop()); err != broken {
		t.Errorf("Standby: %v, want the lock's error", err)
	}
}
