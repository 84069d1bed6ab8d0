package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
)

// BenchmarkShow prints a state of 1,000 searches × 1,000 hits as text into
// a file, as "patwatch show > FILE" does, and, in the same run, the same
// rendering written unbuffered (show before issue 11.4) for comparison.
// PATWATCH_BENCH_SEARCHES=N makes a smaller state.
//
//	go test -run '^$' -bench Show -benchtime 3x ./cmd/patwatch
func BenchmarkShow(b *testing.B) {
	searches := benchSearches(b, 1000)
	dir := b.TempDir()
	path := filepath.Join(dir, "patwatch.state.json")
	writeBigState(b, path, searches)
	out := filepath.Join(dir, "out.txt")

	b.Run("unbuffered", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			loaded, err := filestore.Load(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := report.RenderStateText(f, report.StateSource{Kind: "state file", Where: path}, loaded, nil); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("buffered", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			code := run(context.Background(), []string{"show", "--state", path}, func(string) string { return "" }, strings.NewReader(""), f, io.Discard)
			f.Close()
			if code != exitOK {
				b.Fatalf("show exited %d", code)
			}
		}
	})
}

// writeBigState saves at path a state of searches × 1,000 hits, each hit
// with every field a real one has: at 1,000 searches, 389 MB.
func writeBigState(b *testing.B, path string, searches int) {
	st := state.New()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range searches {
		s := &state.Search{Fingerprint: fmt.Sprintf("sha256:%064x", i), BaselineAt: t0, Hits: make(map[string]*state.Hit, 1000)}
		for j := range 1000 {
			s.Hits[fmt.Sprintf("EU%09d%04dS", i, j)] = &state.Hit{
				FirstSeen: t0.Add(time.Duration(j) * time.Hour), Missing: j % 3,
				PatentID:        fmt.Sprintf("%08x-0000-4000-8000-%012x", i, j),
				Title:           fmt.Sprintf("Mobile phone with a folding screen, variant %d", j),
				CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.", Apno: fmt.Sprintf("EU%09d", j), Apdt: 20190528, Pbdt: 20190601,
			}
		}
		st.Searches[fmt.Sprintf("search-%04d", i)] = s
	}
	file, err := filestore.New(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := file.Save(b.Context(), st); err != nil {
		b.Fatal(err)
	}
}
