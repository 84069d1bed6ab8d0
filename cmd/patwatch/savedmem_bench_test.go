package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
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
	bin := os.Getenv("PATWATCH_MEM_BIN")
	if bin == "" {
		b.Skip("set PATWATCH_MEM_BIN to a patwatch binary to measure")
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skipf("GNU time is needed: %v", err)
	}
	searches, rounds := memEnvInt(b, "PATWATCH_MEM_SEARCHES", 1000), memEnvInt(b, "PATWATCH_MEM_ROUNDS", 1)
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
		if base := memRun(b, bin, env, "", specPath, filepath.Join(pristine, "state.json")); base.code != exitChanged {
			b.Fatalf("baseline apply exited %d\n%s", base.code, base.stderr)
		}
		fi, err := os.Stat(filepath.Join(pristine, "state.json"))
		if err != nil {
			b.Fatal(err)
		}
		memSay("machine: NumCPU %d; %d searches × 1,000 hits; state %.1f MB", runtime.NumCPU(), searches, float64(fi.Size())/1e6)
		fresh := func() string {
			run := filepath.Join(dir, "run")
			if err := os.RemoveAll(run); err != nil {
				b.Fatal(err)
			}
			if err := os.CopyFS(run, os.DirFS(pristine)); err != nil {
				b.Fatal(err)
			}
			return filepath.Join(run, "state.json")
		}
		for round := 1; round <= rounds; round++ {
			state := fresh()
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
			o := memRun(b, bin, env, "", specPath, fresh())
			memSay("         load %s  apply (no plan): exit %d, peak RSS %.0f MB, wall %s, %d calls",
				memLoadavg(), o.code, float64(o.rssKB)*1024/1e6, o.wall, len(api.Requests()))
		}
	}
}
