package memstore_test

import (
	"fmt"
	"testing"

	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/internal/store/memstore"
	"github.com/patwatch/patwatch/internal/store/storetest"
)

// TestMemStoreConforms runs the conformance suite against states in
// memory.
func TestMemStoreConforms(t *testing.T) {
	db := memstore.New()
	n := 0
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) string {
			n++
			return fmt.Sprintf("state-%d", n)
		},
		Open:  func(t *testing.T, name string) store.Store { return db.Open(name) },
		Crash: func(s store.Store) { s.(*memstore.Store).Crash() },
	})
}
