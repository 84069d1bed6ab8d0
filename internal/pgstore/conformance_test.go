package pgstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/patwatch/patwatch/internal/pgstore/pgtest"
	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/internal/store/storetest"
)

// TestStoreConforms runs the conformance suite against states in
// PostgreSQL, each a state of its own in one schema.
func TestStoreConforms(t *testing.T) {
	schema := pgtest.Schema(t)
	n := 0
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) string {
			n++
			return pgtest.StateURL(t, schema, fmt.Sprintf("state-%d", n))
		},
		Open: func(t *testing.T, url string) store.Store {
			s, err := store.Open(context.Background(), url, store.Options{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	})
}
