package main

import (
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkCheckpointOverhead is issue 22's checkpoint overhead, measured
// from outside as BenchmarkApplyNoChangeMemory measures memory: applies of
// 1,000 searches × 1,000 hits (PATWATCH_MEM_SEARCHES) over the state their
// baseline made, by built binaries run as child processes, alternating, so
// that a binary with checkpoints and one without (PATWATCH_MEM_BINS, the
// first making the baseline) are measured side by side in one run. Two
// kinds of apply: one that finds nothing new, whose checkpoints have
// nothing to save, and one after the fake's corpus grew, which changes
// every search and so rewrites the state at each checkpoint.
//
//	PATWATCH_MEM_BINS=/tmp/bins/new,/tmp/bins/no-checkpoints \
//	  go test -run '^$' -bench CheckpointOverhead -benchtime 1x -timeout 60m ./cmd/patwatch
func BenchmarkCheckpointOverhead(b *testing.B) {
	bins := memBins(b, "PATWATCH_MEM_BINS")
	searches, rounds := memEnvInt(b, "PATWATCH_MEM_SEARCHES", 1000), memEnvInt(b, "PATWATCH_MEM_ROUNDS", 2)
	for b.Loop() {
		m := newMemBench(b, bins[0], searches)
		memSay("machine: NumCPU %d; %d searches × 1,000 hits; state %.1f MB", runtime.NumCPU(), searches, m.sizeMB())
		for _, kind := range []string{"nothing new", "every search changed"} {
			if kind == "every search changed" {
				m.api.Advance()
			}
			for round := 1; round <= rounds; round++ {
				for _, bin := range bins {
					statePath := m.fresh(b)
					load := memLoadavg()
					r := memRun(b, bin, m.env, "", m.specPath, statePath)
					if r.code != exitOK && r.code != exitChanged {
						b.Fatalf("apply by %s exited %d\n%s", bin, r.code, memTail(r.stderr))
					}
					memSay("%-20s round %d %-16s load %s  wall %s  CPU %.1f s  peak RSS %.0f MB  new or dropped hits %d",
						kind, round, filepath.Base(bin), load, r.wall, r.cpu, float64(r.rssKB)*1024/1e6, memChangedHits(b, r.stdout))
				}
			}
		}
	}
}
