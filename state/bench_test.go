package state

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// bigState is a state of searches × hits hits with realistic field sizes.
func bigState(searches, hits int) *State {
	st := New()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range searches {
		s := &Search{Fingerprint: fmt.Sprintf("sha256:%064x", i), BaselineAt: t0, Hits: make(map[string]*Hit, hits)}
		for j := range hits {
			s.Hits[fmt.Sprintf("EU%09d%04dS", i, j)] = &Hit{
				FirstSeen:       t0.Add(time.Duration(j) * time.Hour),
				Missing:         j % 3,
				PatentID:        fmt.Sprintf("%08x-0000-4000-8000-%012x", i, j),
				Title:           fmt.Sprintf("Mobile phone with a folding screen, variant %d", j),
				CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.",
				Apno:            fmt.Sprintf("EU%09d", j),
				Apdt:            20190528,
				Pbdt:            20190601,
			}
		}
		st.Searches[fmt.Sprintf("search-%04d", i)] = s
	}
	return st
}

var benchSearches, benchHits = 1000, 1000

// writeBig writes the benchmark state to a file, and lets it go before
// returning, so that a benchmark measures only what it loads.
func writeBig(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "patwatch.state.json")
	if _, err := Save(path, bigState(benchSearches, benchHits)); err != nil {
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
	st := bigState(benchSearches, benchHits)
	if _, err := Save(path, st); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	mid := benchSearches / 2
	h := st.Searches[fmt.Sprintf("search-%04d", mid)].Hits[fmt.Sprintf("EU%09d%04dS", mid, benchHits/2)]
	b.ResetTimer()
	for b.Loop() {
		h.Missing++ // a change in the middle of the file
		written, err := Save(path, st)
		if err != nil || !written {
			b.Fatal(written, err)
		}
	}
}

// BenchmarkSaveUnchanged is a scheduled run that found nothing: the same
// state again, compared and not written.
func BenchmarkSaveUnchanged(b *testing.B) {
	path := filepath.Join(b.TempDir(), "patwatch.state.json")
	st := bigState(benchSearches, benchHits)
	if _, err := Save(path, st); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		written, err := Save(path, st)
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
