package watch

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

func TestRemovals(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	st := state.New()
	st.Searches["a"] = &state.Search{Fingerprint: "fa", RefreshedAt: at}
	st.Searches["b"] = &state.Search{Fingerprint: "fb"}
	load := func(context.Context) (*state.State, error) { return st, nil }

	removed, recorded, err := Removals(load)(context.Background(), &spec.Spec{Searches: []spec.Search{{Name: "a", Fingerprint: "fa"}}})
	if err != nil || removed != 1 || recorded != 2 {
		t.Errorf("Removals = %d of %d, %v; want 1 of 2", removed, recorded, err)
	}

	broken := func(context.Context) (*state.State, error) { return nil, errors.New("unreadable") }
	if _, _, err := Removals(broken)(context.Background(), &spec.Spec{}); err == nil {
		t.Error("Removals hid the state's error")
	}
}
