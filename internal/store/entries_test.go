package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/internal/store/memstore"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// TestForget: entries gone from the spec are forgotten, live or retired;
// one of the spec or one unknown refuses the whole removal.
func TestForget(t *testing.T) {
	ctx := context.Background()
	s := memstore.New().Open("s")
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	fp := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	st, _ := s.Load(ctx)
	st.Searches["kept"] = &state.Search{Fingerprint: fp, BaselineAt: at}
	st.Searches["left"] = &state.Search{Fingerprint: fp, BaselineAt: at}
	st.RetiredSearches = map[string]*state.Search{"old": {Fingerprint: fp, BaselineAt: at, RetiredAt: at}}
	if _, err := s.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	sp := &spec.Spec{Searches: []spec.Search{{Name: "kept"}}}

	var inSpec *store.InSpecError
	if _, err := store.Forget(ctx, s, sp, []string{"old", "kept"}, 0); !errors.As(err, &inSpec) {
		t.Errorf("forgetting an entry of the spec: %v", err)
	}
	var unknown *store.UnknownEntryError
	if _, err := store.Forget(ctx, s, sp, []string{"lft"}, 0); !errors.As(err, &unknown) || unknown.Suggestion != "left" {
		t.Errorf("forgetting an unknown entry: %v", err)
	}
	gone, err := store.Forget(ctx, s, sp, []string{"old", "left"}, 0)
	if err != nil || len(gone) != 2 || gone[0] != "search old" || gone[1] != "search left" {
		t.Fatalf("Forget: %v, %v", gone, err)
	}
	st, _ = s.Load(ctx)
	if len(st.Searches) != 1 || st.Searches["kept"] == nil || len(st.RetiredSearches) != 0 {
		t.Errorf("after Forget: searches %v, retired %v", st.Searches, st.RetiredSearches)
	}
}
