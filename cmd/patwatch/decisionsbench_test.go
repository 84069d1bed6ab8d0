package main

import (
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state/filestore"
)

// BenchmarkDecisions is issue 23's measure: an apply and an inbox on the
// state of 1,000 searches × 1,000 hits (BenchmarkApplyNoChangeMemory's)
// with a decisions file of PATWATCH_DECISIONS entries (default 10,000),
// beside the same runs without one, for the binary PATWATCH_DECISIONS_BIN,
// each run a child process under /usr/bin/time -v. After the baseline, one
// hit in a hundred of each search (by a hash of search and number) is made
// reported new, first seen an hour after it; the decisions cover half of
// those, other hits, and made-up numbers up to their number. The rounds (PATWATCH_MEM_ROUNDS, default 2)
// alternate without and with decisions.
//
//	PATWATCH_DECISIONS_BIN=/tmp/bin/patwatch \
//	  go test -run '^$' -bench Decisions -benchtime 1x -timeout 60m ./cmd/patwatch
func BenchmarkDecisions(b *testing.B) {
	bin := memBins(b, "PATWATCH_DECISIONS_BIN")[0]
	searches, rounds := memEnvInt(b, "PATWATCH_MEM_SEARCHES", 1000), memEnvInt(b, "PATWATCH_MEM_ROUNDS", 2)
	n := memEnvInt(b, "PATWATCH_DECISIONS", 10_000)
	for b.Loop() {
		m := newMemBench(b, bin, searches)
		env, specPath, dir := m.env, m.specPath, m.dir
		decisions := benchNewHits(b, m.pristineState(), n)
		decisionsPath := filepath.Join(dir, "patwatch.decisions.yaml")
		memSay("machine: NumCPU %d; %d searches × 1,000 hits; %d decisions (%d bytes)", runtime.NumCPU(), searches, strings.Count(string(decisions), "verdict:"), len(decisions))
		for round := 1; round <= rounds; round++ {
			for _, with := range []bool{false, true} {
				statePath := m.fresh(b)
				os.Remove(decisionsPath)
				label := "without decisions"
				if with {
					label = "with decisions"
					if err := os.WriteFile(decisionsPath, decisions, 0o644); err != nil {
						b.Fatal(err)
					}
				}
				load := memLoadavg()
				r := memRun(b, bin, env, "", specPath, statePath)
				if r.code != exitOK || memChangedHits(b, r.stdout) != 0 {
					b.Fatalf("apply %s: exit %d\n%s", label, r.code, memTail(r.stderr))
				}
				in := memTime(b, bin, env, "", "inbox", "-f", specPath, "--state", statePath, "--format", "json")
				if in.code != exitOK {
					b.Fatalf("inbox %s: exit %d\n%s", label, in.code, memTail(in.stderr))
				}
				memSay("round %d %-18s load %s  apply: peak RSS %d kB (%.0f MB) wall %s cpu %.1f s  inbox: %d entries, peak RSS %d kB (%.0f MB) wall %s cpu %.2f s",
					round, label, load, r.rssKB, float64(r.rssKB)*1024/1e6, r.wall, benchCPU(r.stderr),
					strings.Count(in.stdout, `"patent_pn"`), in.rssKB, float64(in.rssKB)*1024/1e6, in.wall, benchCPU(in.stderr))
			}
		}
	}
}

// benchNewHits makes one hit in a hundred of each search of the state at
// path reported new (first seen an hour after its baseline) and returns a
// decisions file of n entries: on half of those patents, then on other
// hits, then on numbers no search holds.
func benchNewHits(b *testing.B, path string, n int) []byte {
	b.Helper()
	st, err := filestore.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	fresh, all := map[string]bool{}, map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(st.Searches)) {
		s := st.Searches[name]
		for pn, hit := range s.Hits {
			all[pn] = true
			h := fnv.New32a()
			h.Write([]byte(name + pn))
			if h.Sum32()%100 == 0 {
				newer := *hit
				newer.FirstSeen = s.BaselineAt.Add(time.Hour)
				s.Hits[pn] = &newer
				fresh[pn] = true
			}
		}
	}
	if err := filestore.Replace(path, st); err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(filestore.BackupPath(path)); err != nil {
		b.Fatal(err)
	}
	// Half of the new ones first, then any other hit, to n in all.
	var decided []string
	for i, pn := range slices.Sorted(maps.Keys(fresh)) {
		if i%2 == 0 {
			decided = append(decided, pn)
		}
	}
	for _, pn := range slices.Sorted(maps.Keys(all)) {
		if len(decided) >= n {
			break
		}
		if !fresh[pn] {
			decided = append(decided, pn)
		}
	}
	// The fake's corpus holds fewer patents than that: the rest are
	// numbers no search holds, which a real decisions file also gathers.
	for i := 0; len(decided) < n; i++ {
		decided = append(decided, fmt.Sprintf("CN9%08dU", i))
	}
	var d strings.Builder
	d.WriteString("version: 1\ndecisions:\n")
	for i, pn := range decided[:min(n, len(decided))] {
		verdict := "not_relevant"
		if i%4 == 0 {
			verdict = "relevant"
		}
		fmt.Fprintf(&d, "  %s:\n    verdict: %s\n    by: alice\n    at: 2026-12-07\n", pn, verdict)
	}
	return []byte(d.String())
}

// benchCPU is the user and system CPU seconds GNU time reported in stderr:
// less at the mercy of the machine's other load than the wall time.
func benchCPU(stderr string) float64 {
	total := 0.0
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		for _, p := range []string{"User time (seconds): ", "System time (seconds): "} {
			if v, ok := strings.CutPrefix(line, p); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
	}
	return total
}
