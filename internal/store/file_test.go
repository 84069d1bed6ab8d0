package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/internal/store/storetest"
)

// TestFileStoreConforms runs the conformance suite against state files.
func TestFileStoreConforms(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) string { return filepath.Join(t.TempDir(), "patwatch.state.json") },
		Open: func(t *testing.T, path string) store.Store {
			s, err := store.Open(context.Background(), path, store.Options{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	})
}
