package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/internal/store/memstore"
	"github.com/patwatch/patwatch/state"
)

// TestRefreshed: watch mode reads the last refresh of each search that
// records one, and nothing of the others.
func TestRefreshed(t *testing.T) {
	ctx := context.Background()
	s := memstore.New().Open("s")
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	st, _ := s.Load(ctx)
	fp := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	st.Searches["weekly"] = &state.Search{Fingerprint: fp, BaselineAt: at, RefreshedAt: at.Add(time.Hour)}
	st.Searches["plain"] = &state.Search{Fingerprint: fp, BaselineAt: at}
	if _, err := s.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := store.Refreshed(ctx, s)
	if want := map[string]time.Time{"weekly": at.Add(time.Hour)}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Refreshed: %v, %v; want %v", got, err, want)
	}
}
