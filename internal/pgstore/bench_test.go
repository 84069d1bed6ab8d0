package pgstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/patwatch/patwatch/internal/pgstore/pgtest"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
)

// BenchmarkStores measures the database store beside the state file on the
// same state of 1,000 searches × 1,000 hits (PATWATCH_BENCH_SEARCHES
// changes the number of searches): the save of a run that found one new
// hit, the load of the state, and taking and releasing the lock.
//
//	go test -run '^$' -bench Stores -benchtime 5x ./internal/pgstore
func BenchmarkStores(b *testing.B) {
	searches := 1000
	if s := os.Getenv("PATWATCH_BENCH_SEARCHES"); s != "" {
		fmt.Sscan(s, &searches)
	}
	ctx := context.Background()
	big := bigState(searches, 1000)
	path := filepath.Join(b.TempDir(), "patwatch.state.json")
	file, err := filestore.New(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := file.Save(ctx, big); err != nil {
		b.Fatal(err)
	}
	schema := pgtest.Schema(b)
	pg := open(b, schema, "bench")
	if _, err := pg.Load(ctx); err != nil {
		b.Fatal(err)
	}
	if err := pg.Replace(ctx, big, big.Serial); err != nil {
		b.Fatal(err)
	}
	// Statistics for the planner, as autovacuum would gather soon after.
	if _, err := pgtest.Conn(b).Exec(ctx, "ANALYZE "+ident(schema)+".hits"); err != nil {
		b.Fatal(err)
	}
	big = nil
	runtime.GC()

	b.Run("load/file", func(b *testing.B) {
		for b.Loop() {
			if st, err := filestore.Load(path); err != nil || len(st.Searches) != searches {
				b.Fatal(err)
			}
		}
	})
	b.Run("load/postgres", func(b *testing.B) {
		s := open(b, schema, "bench")
		for b.Loop() {
			if st, err := s.Load(ctx); err != nil || len(st.Searches) != searches {
				b.Fatal(err)
			}
		}
	})

	// A run that found one new hit: each iteration adds one to a search in
	// the middle and saves.
	save := func(b *testing.B, st *state.State, saveFn func(*state.State) (bool, error)) {
		mid := st.Searches[fmt.Sprintf("search-%04d", searches/2)]
		i := 0
		for b.Loop() {
			i++
			mid.Hits[fmt.Sprintf("NEW%07dS", i)] = &state.Hit{FirstSeen: t0, Title: "a new design"}
			if written, err := saveFn(st); err != nil || !written {
				b.Fatal(written, err)
			}
		}
	}
	b.Run("save-1-new-hit/file", func(b *testing.B) {
		st, err := filestore.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		save(b, st, func(st *state.State) (bool, error) { return file.Save(ctx, st) })
	})
	runtime.GC()
	b.Run("save-1-new-hit/postgres", func(b *testing.B) {
		s := open(b, schema, "bench")
		st, err := s.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		save(b, st, func(st *state.State) (bool, error) { return s.Save(ctx, st) })
	})
	runtime.GC()

	b.Run("lock-unlock/file", func(b *testing.B) {
		for b.Loop() {
			h, err := filestore.Lock(ctx, path, "bench", 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Unlock(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lock-unlock/postgres", func(b *testing.B) {
		s := open(b, schema, "bench")
		for b.Loop() {
			unlock, err := s.Lock(ctx, "bench", 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := unlock(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
