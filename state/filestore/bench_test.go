package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/patwatch/patwatch/state/internal/statetest"
)

var benchSearches, benchHits = 1000, 1000

// writeBig writes the benchmark state to a file, and lets it go before
// returning, so that a benchmark measures only what it loads.
func writeBig(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "patwatch.state.json")
	if _, err := saveFile(path, statetest.Big(benchSearches, benchHits)); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	return path
}

// BenchmarkLoad loads a state of 1,000 searches × 1,000 hits.
func BenchmarkLoad(b *testing.B) {
	path := writeBig(b)
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		st, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Searches) != benchSearches {
			b.Fatal("wrong state")
		}
	}
}

// BenchmarkSave saves a changed state of 1,000 searches × 1,000 hits over
// the previous one: check the file, compare, write, sync, keep the backup.
func BenchmarkSave(b *testing.B) {
	path := filepath.Join(b.TempDir(), "patwatch.state.json")
	st := statetest.Big(benchSearches, benchHits)
	if _, err := saveFile(path, st); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	mid := benchSearches / 2
	h := st.Searches[fmt.Sprintf("search-%04d", mid)].Hits[fmt.Sprintf("EU%09d%04dS", mid, benchHits/2)]
	b.ResetTimer()
	for b.Loop() {
		h.Missing++ // a change in the middle of the file
		written, err := saveFile(path, st)
		if err != nil || !written {
			b.Fatal(written, err)
		}
	}
}

// BenchmarkSaveUnchanged is a scheduled run that found nothing: the same
// state again, compared and not written.
func BenchmarkSaveUnchanged(b *testing.B) {
	path := filepath.Join(b.TempDir(), "patwatch.state.json")
	st := statetest.Big(benchSearches, benchHits)
	if _, err := saveFile(path, st); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		written, err := saveFile(path, st)
		if err != nil || written {
			b.Fatal(written, err)
		}
	}
}

func init() {
	if s := os.Getenv("PATWATCH_BENCH_SEARCHES"); s != "" {
		fmt.Sscan(s, &benchSearches)
	}
}
