package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/state"
)

// PushOptions adjust a Push.
type PushOptions struct {
	// From names the pushed state in messages, as the user gave it (the
	// FILE of 'patwatch state push'; - for standard input).
	From string
	// Force replaces a state of another lineage, an older one, and a real
	// watch list's state by a sandbox's or the other way round.
	Force bool
	// LockTimeout is how long to wait for a run to release the lock of the
	// state replaced.
	LockTimeout time.Duration
}

// PushResult is what a Push did.
type PushResult struct {
	// Serial is the serial the replaced store holds the pushed state at.
	Serial uint64
	// Unchanged: it held the pushed state already, and nothing was
	// written.
	Unchanged bool
}

// Push replaces the state dst holds with the one src holds, under dst's
// lock, as 'patwatch state push' does. The lineage and serial policy is
// PushSerial's: a refusal is a *PushError naming dst and
// o.From. A state that --sandbox runs wrote moves with their memory, and
// is never pushed over a real watch list's state, nor a real one over it,
// unless forced: simulated hits would pass for real ones.
func Push(ctx context.Context, dst, src Store, o PushOptions) (PushResult, error) {
	pushed, err := loadExisting(ctx, src)
	if err != nil {
		return PushResult{}, err
	}
	unlock, err := dst.Lock(ctx, "state push", o.LockTimeout)
	if err != nil {
		return PushResult{}, err
	}
	defer unlock()

	exists, err := dst.Exists(ctx)
	if err != nil {
		return PushResult{}, err
	}
	memory, err := sandboxMemory(ctx, src)
	if err != nil {
		return PushResult{}, err
	}
	if err := checkSandboxes(ctx, dst, exists, memory != nil, o); err != nil {
		return PushResult{}, err
	}
	var cur *state.State
	if exists {
		if cur, err = dst.Load(ctx); err != nil {
			return PushResult{}, err
		}
	}
	serial, err := PushSerial(cur, pushed, o.Force)
	var pe *PushError
	if errors.As(err, &pe) {
		pe.Target, pe.Source = dst.String(), o.From
	}
	if err != nil {
		return PushResult{}, err
	}
	if cur != nil && serial == cur.Serial {
		return PushResult{Serial: serial, Unchanged: true}, nil
	}
	if err := dst.Replace(ctx, pushed, serial); err != nil {
		return PushResult{}, err
	}
	if memory != nil {
		if err := dst.WriteAux(ctx, SandboxAux, memory); err != nil {
			return PushResult{}, fmt.Errorf("pushed %s to %s as serial %d, but not the memory of its --sandbox runs: %w", o.From, dst, serial, err)
		}
	}
	return PushResult{Serial: serial}, nil
}

// checkSandboxes refuses, unless forced, to push a sandbox's state over a
// real one or a real one over a sandbox's. exists says whether dst holds a
// state; simulated, whether the pushed one comes with a sandbox's memory.
func checkSandboxes(ctx context.Context, dst Store, exists, simulated bool, o PushOptions) error {
	if o.Force {
		return nil
	}
	dstSimulated, err := Simulated(ctx, dst)
	if err != nil {
		return err
	}
	switch {
	case simulated && exists && !dstSimulated:
		return hint.Wrap(fmt.Errorf("%s was written by --sandbox runs and %s holds a real watch list's state: its hits are simulated; not replacing it", o.From, dst),
			"push it into a state of its own; --force replaces the real state anyway")
	case !simulated && dstSimulated:
		return hint.Wrap(fmt.Errorf("%s was written by --sandbox runs, and %s is not known to be: not replacing it", dst, o.From),
			"--force replaces it, and the state stays marked as written by --sandbox runs")
	}
	return nil
}

// loadExisting loads the state s holds, which must exist: pushing or
// pulling nothing is an error, not an empty state.
func loadExisting(ctx context.Context, s Store) (*state.State, error) {
	ok, err := s.Exists(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.Missing()
	}
	return s.Load(ctx)
}

// sandboxMemory is the memory of the --sandbox runs that wrote the state
// of s, nil for a state of real runs.
func sandboxMemory(ctx context.Context, s Store) ([]byte, error) {
	b, err := s.ReadAux(ctx, SandboxAux)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}
