package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/state/filestore"
)

// BenchmarkStatePull prints a state of 1,000 searches × 1,000 hits (389
// MB) with "patwatch state pull > FILE", beside what it is measured
// against in the same run: loading the state and saving it as a new state
// file. PATWATCH_BENCH_SEARCHES=N makes a smaller state. Its memory is
// measured from outside, as the peak resident size of the command:
//
//	go test -run '^$' -bench StatePull -benchtime 3x ./cmd/patwatch
//	/usr/bin/time -f '%e s %M KB' patwatch state pull --state STATE > /dev/null
func BenchmarkStatePull(b *testing.B) {
	searches := benchSearches(b, 1000)
	dir := b.TempDir()
	path := filepath.Join(dir, "patwatch.state.json")
	writeBigState(b, path, searches)
	out := filepath.Join(dir, "out.json")

	b.Run("load+save", func(b *testing.B) {
		for b.Loop() {
			os.Remove(out)
			st, err := filestore.Load(path)
			if err != nil {
				b.Fatal(err)
			}
			saved, err := filestore.New(out)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := saved.Save(b.Context(), st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pull", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			code := run(context.Background(), []string{"state", "pull", "--state", path}, func(string) string { return "" }, strings.NewReader(""), f, io.Discard)
			f.Close()
			if code != exitOK {
				b.Fatalf("state pull exited %d", code)
			}
		}
	})
}
