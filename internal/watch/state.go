package watch

import (
	"context"

	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// StateLoader reads the state the loop's runs apply to. The loop reads it
// without the lock, as a plan does: each run reads it again under the lock.
type StateLoader func(ctx context.Context) (*state.State, error)

// Removals is a Loop's Removal that counts against the state load reads.
func Removals(load StateLoader) func(ctx context.Context, sp *spec.Spec) (removed, recorded int, err error) {
	return func(ctx context.Context, sp *spec.Spec) (int, int, error) {
		recorded, err := load(ctx)
		if err != nil {
			return 0, 0, err
		}
		n, total := reconciler.Removals(sp, recorded)
		return n, total, nil
	}
}
