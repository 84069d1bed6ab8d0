package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// memBench is what the benchmarks that measure built binaries from
// outside share: the fake API on loopback, a spec of searches of 1,000
// hits each (memSpec), the environment the binaries run in, and the state
// a baseline apply made, kept pristine so that every measured run starts
// from a fresh copy of it.
type memBench struct {
	dir      string
	api      *fake.Server
	specPath string
	env      []string
	pristine string    // the directory of the baseline's state
	base     memResult // the baseline apply
	size     int64     // the baseline state's size in bytes
	searches int
}

// newMemBench serves the fake, writes the spec and makes the baseline with
// the binary bin, whose apply must report the change (exit 2).
func newMemBench(b *testing.B, bin string, searches int) *memBench {
	m := &memBench{dir: b.TempDir(), api: fake.New(fake.Options{APIKeys: []string{testAPIKey}}), searches: searches}
	srv := httptest.NewServer(m.api)
	b.Cleanup(srv.Close)
	m.specPath = filepath.Join(m.dir, "patwatch.yaml")
	if err := os.WriteFile(m.specPath, []byte(memSpec(searches)), 0o644); err != nil {
		b.Fatal(err)
	}
	m.env = append(os.Environ(), "PATSNAP_BASE_URL="+srv.URL, "PATSNAP_API_KEY="+testAPIKey,
		"PATWATCH_CACHE_DIR="+filepath.Join(m.dir, "cache"))
	m.pristine = filepath.Join(m.dir, "pristine")
	if err := os.Mkdir(m.pristine, 0o755); err != nil {
		b.Fatal(err)
	}
	m.base = memRun(b, bin, m.env, "", m.specPath, m.pristineState())
	if m.base.code != exitChanged {
		b.Fatalf("baseline apply by %s exited %d, want %d (changed)\n%s", bin, m.base.code, exitChanged, memTail(m.base.stderr))
	}
	fi, err := os.Stat(m.pristineState())
	if err != nil {
		b.Fatal(err)
	}
	m.size = fi.Size()
	return m
}

// pristineState is the path of the baseline's state.
func (m *memBench) pristineState() string { return filepath.Join(m.pristine, "state.json") }

// fresh copies the baseline's directory afresh and returns the path of the
// copy's state.
func (m *memBench) fresh(b *testing.B) string {
	run := filepath.Join(m.dir, "run")
	if err := os.RemoveAll(run); err != nil {
		b.Fatal(err)
	}
	if err := os.CopyFS(run, os.DirFS(m.pristine)); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(run, "state.json")
}

// sizeMB is the baseline state's size in MB (10⁶ bytes).
func (m *memBench) sizeMB() float64 { return float64(m.size) / 1e6 }

// memBins returns the binaries PATWATCH_MEM_BINS lists, comma-separated,
// or skips b when it is not set or GNU time is missing.
func memBins(b *testing.B, variable string) []string {
	list := os.Getenv(variable)
	if list == "" {
		b.Skipf("set %s to the patwatch binaries to measure, comma-separated", variable)
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skipf("GNU time is needed: %v", err)
	}
	return strings.Split(list, ",")
}

// benchSearches is PATWATCH_BENCH_SEARCHES, the number of searches of the
// benchmarks that make a big state in process; def when it is not set.
func benchSearches(b *testing.B, def int) int {
	searches := def
	if s := os.Getenv("PATWATCH_BENCH_SEARCHES"); s != "" {
		if _, err := fmt.Sscan(s, &searches); err != nil {
			b.Fatalf("PATWATCH_BENCH_SEARCHES: %v", err)
		}
	}
	return searches
}
