package drawings

import (
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkHostileDrawings measures the peak memory of the drawings step
// of an apply whose eight new hits link to hostile images (issue 25.3.1):
// the 6,320 × 6,320 progressive JPEGs and 16-bit PNGs, and
// progressive JPEGs of 3,600 × 3,600 that fit in DecodeBudget one at a
// time. It reports the process's peak resident memory above what it held
// before the step (VmHWM, reset through /proc/self/clear_refs) and the
// step's wall time.
//
//	go test -run '^$' -bench HostileDrawings -benchtime 1x -count 3 ./internal/drawings
func BenchmarkHostileDrawings(b *testing.B) {
	jpg, pn := hostile()
	under := progressiveJPEG(3600, 3600)
	for _, tc := range []struct {
		name   string
		bodies func(i int) []byte
	}{
		{"6320px-jpeg-and-png16", func(i int) []byte { return map[bool][]byte{true: jpg, false: pn}[i%2 == 0] }},
		{"3600px-progressive-jpeg", func(int) []byte { return under }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bodies := map[string][]byte{}
			var paths []string
			for i := range 8 {
				p := fmt.Sprintf("/hostile-%d", i)
				bodies[p], paths = tc.bodies(i), append(paths, p)
			}
			srv := serveImages(b, bodies)
			for b.Loop() {
				step, out, sp := hostileRun(b, srv, paths)
				debug.FreeOSMemory() // what earlier loops left is not the step's
				base := resetPeakRSS(b)
				start := time.Now()
				step.Start(b.Context(), sp)
				step.Keep(b.Context(), out)
				took := time.Since(start)
				b.ReportMetric(float64(peakRSS(b)-base)/(1<<20), "peak-MB-above-start")
				b.ReportMetric(took.Seconds(), "s/step")
				idx, _ := step.Cache.LoadIndex(b.Context())
				kept := 0
				for _, e := range idx.Searches["s"].Hits {
					if !e.Drawing.IsZero() {
						kept++
					}
				}
				b.ReportMetric(float64(kept), "kept")
			}
		})
	}
}

// resetPeakRSS resets the process's peak resident memory to what it holds
// now, and returns that.
func resetPeakRSS(b *testing.B) int64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("the peak resident memory cannot be reset here: %v", err)
	}
	return procStatus(b, "VmRSS")
}

// peakRSS is the process's peak resident memory since the last reset.
func peakRSS(b *testing.B) int64 { return procStatus(b, "VmHWM") }

// procStatus reads a line of /proc/self/status in kB, as bytes.
func procStatus(b *testing.B, field string) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip(err)
	}
	for line := range bytes.Lines(status) {
		if rest, ok := strings.CutPrefix(string(line), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}
