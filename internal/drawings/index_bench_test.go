package drawings

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkEncodeIndex encodes the index of 1,000 searches × 1,000 hits,
// which every apply does at least once to compare it with its file, side by
// side with the library's MarshalIndent a search at a time (how encodeIndex
// did it before). The allocations are what the run's peak memory saw.
//
//	go test -run '^$' -bench EncodeIndex -benchmem ./internal/drawings
func BenchmarkEncodeIndex(b *testing.B) {
	x := NewIndex()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := range 1000 {
		s := x.Search(fmt.Sprintf("s%04d", i))
		s.Query = Query{Line: "design (D), model 1 · max_results 1000", Images: []QueryImage{{Key: fmt.Sprintf("https://images.test/%04d.png", i), Name: "images.test/x.png"}}}
		for j := range 1000 {
			h := s.Hit(fmt.Sprintf("CN%09dS", i*1000+j))
			h.Score = 0.5 + float64(j%500)/1000
			if j < 100 {
				h.Want, h.FetchedAt, h.Drawing = true, at, Ref{SHA256: fmt.Sprintf("%064x", j), Format: PNG}
			}
		}
	}
	b.Run("MarshalIndent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range x.Searches {
				if v, err := json.MarshalIndent(s, "  ", " "); err != nil || len(v) == 0 {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encodeIndex", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := encodeIndex(io.Discard, x); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadIndex reads the same index's file: whole, as LoadIndex did
// before (the file's bytes, then the library's Unmarshal), and a search at
// a time (EachSearch), keeping each search's entry or only looking at it as
// a run's first reading of the index does.
//
//	go test -run '^$' -bench ReadIndex -benchmem ./internal/drawings
func BenchmarkReadIndex(b *testing.B) {
	x := NewIndex()
	for i := range 1000 {
		s := x.Search(fmt.Sprintf("s%04d", i))
		for j := range 1000 {
			s.Hit(fmt.Sprintf("CN%09dS", i*1000+j)).Score = 0.5 + float64(j%500)/1000
		}
	}
	ctx := context.Background()
	s := ForStateFile(filepath.Join(b.TempDir(), "state.json"))
	if err := s.SaveIndex(ctx, x); err != nil {
		b.Fatal(err)
	}
	b.Run("ReadFile+Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, err := os.ReadFile(s.index)
			if err != nil {
				b.Fatal(err)
			}
			var got Index
			if err := json.Unmarshal(raw, &got); err != nil || len(got.Searches) != 1000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("LoadIndex", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got, err := s.LoadIndex(ctx); err != nil || len(got.Searches) != 1000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("EachSearch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			if err := s.EachSearch(ctx, func(string, *Search) error { n++; return nil }); err != nil || n != 1000 {
				b.Fatal(err)
			}
		}
	})
}
