package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkApplySavedPlanMemory is issue 24's measure of apply FILE on a
// large state: PATWATCH_MEM_SEARCHES searches (default 1,000) of 1,000 hits
// each, nothing changed since the baseline, for the built binary
// PATWATCH_MEM_BIN run as a child process under /usr/bin/time -v. Each
// round starts from a fresh copy of the baseline's directory and measures
// plan --save, then apply FILE (peak resident memory, wall time, the plan
// file's size), then an ordinary no-change apply of another fresh copy
// beside them.
//
//	PATWATCH_MEM_BIN=/tmp/mem-bin/patwatch \
//	  go test -run '^$' -bench ApplySavedPlanMemory -benchtime 1x -timeout 60m ./cmd/patwatch
func BenchmarkApplySavedPlanMemory(b *testing.B) {
	bin := memBins(b, "PATWATCH_MEM_BIN")[0]
	searches, rounds := memEnvInt(b, "PATWATCH_MEM_SEARCHES", 1000), memEnvInt(b, "PATWATCH_MEM_ROUNDS", 1)
	for b.Loop() {
		m := newMemBench(b, bin, searches)
		api, env, specPath, dir := m.api, m.env, m.specPath, m.dir
		memSay("machine: NumCPU %d; %d searches × 1,000 hits; state %.1f MB", runtime.NumCPU(), searches, m.sizeMB())
		for round := 1; round <= rounds; round++ {
			state := m.fresh(b)
			planFile := filepath.Join(dir, "p.plan")
			api.ResetRequests()
			p := memTime(b, bin, env, "", "plan", "-f", specPath, "--state", state, "--format", "json", "--log-format", "json", "--save", planFile)
			planCalls := len(api.Requests())
			pf, err := os.Stat(planFile)
			if p.code != exitOK || err != nil {
				b.Fatalf("plan --save exited %d (%v)\n%s", p.code, err, p.stderr)
			}
			api.ResetRequests()
			a := memTime(b, bin, env, "", "apply", planFile, "--format", "json", "--detailed-exitcode", "--log-format", "json", "--baseline-drawings", "0")
			if a.code != exitOK {
				b.Fatalf("apply FILE exited %d\n%s", a.code, a.stderr)
			}
			memSay("round %d  load %s  plan --save: peak RSS %.0f MB, wall %s, %d calls, plan file %d bytes;  apply FILE: peak RSS %.0f MB, wall %s, %d calls",
				round, memLoadavg(), float64(p.rssKB)*1024/1e6, p.wall, planCalls, pf.Size(), float64(a.rssKB)*1024/1e6, a.wall, len(api.Requests()))
			api.ResetRequests()
			o := memRun(b, bin, env, "", specPath, m.fresh(b))
			memSay("         load %s  apply (no plan): exit %d, peak RSS %.0f MB, wall %s, %d calls",
				memLoadavg(), o.code, float64(o.rssKB)*1024/1e6, o.wall, len(api.Requests()))
		}
	}
}
