package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
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
	binsEnv := os.Getenv("PATWATCH_MEM_BINS")
	if binsEnv == "" {
		b.Skip("set PATWATCH_MEM_BINS=/path/a,/path/b to patwatch binaries to measure")
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skipf("GNU time is needed: %v", err)
	}
	bins := strings.Split(binsEnv, ",")
	searches, rounds := memEnvInt(b, "PATWATCH_MEM_SEARCHES", 1000), memEnvInt(b, "PATWATCH_MEM_ROUNDS", 2)
	for b.Loop() {
		dir := b.TempDir()
		api := fake.New(fake.Options{APIKeys: []string{testAPIKey}})
		srv := httptest.NewServer(api)
		b.Cleanup(srv.Close)
		specPath := filepath.Join(dir, "patwatch.yaml")
		if err := os.WriteFile(specPath, []byte(memSpec(searches)), 0o644); err != nil {
			b.Fatal(err)
		}
		env := append(os.Environ(), "PATSNAP_BASE_URL="+srv.URL, "PATSNAP_API_KEY="+testAPIKey,
			"PATWATCH_CACHE_DIR="+filepath.Join(dir, "cache"))
		pristine := filepath.Join(dir, "pristine")
		if err := os.Mkdir(pristine, 0o755); err != nil {
			b.Fatal(err)
		}
		base := memRun(b, bins[0], env, "", specPath, filepath.Join(pristine, "state.json"))
		if base.code != exitChanged {
			b.Fatalf("baseline apply by %s exited %d\n%s", bins[0], base.code, base.stderr)
		}
		fi, err := os.Stat(filepath.Join(pristine, "state.json"))
		if err != nil {
			b.Fatal(err)
		}
		memSay("machine: NumCPU %d; %d searches × 1,000 hits; state %.1f MB", runtime.NumCPU(), searches, float64(fi.Size())/1e6)
		for _, kind := range []string{"nothing new", "every search changed"} {
			if kind == "every search changed" {
				api.Advance()
			}
			for round := 1; round <= rounds; round++ {
				for _, bin := range bins {
					runDir := filepath.Join(dir, "run")
					if err := os.RemoveAll(runDir); err != nil {
						b.Fatal(err)
					}
					if err := os.CopyFS(runDir, os.DirFS(pristine)); err != nil {
						b.Fatal(err)
					}
					load := memLoadavg()
					r := memRun(b, bin, env, "", specPath, filepath.Join(runDir, "state.json"))
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
