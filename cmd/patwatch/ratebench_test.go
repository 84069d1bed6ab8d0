package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
)

// strictRun is one apply of many searches against the fake API enforcing
// its QPS limit the strict way (a sliding second that counts rejected calls
// too), with the spec's api.qps set to qps.
type strictRun struct {
	limit    float64       // the fake's limit
	qps      float64       // the spec's api.qps
	latency  time.Duration // of every admitted answer
	searches int
	pages    int // per search: 1 (max_results 100) or 11 (max_results 1100)
}

// strictResult is what a strictRun measured.
type strictResult struct {
	calls, limited, failed int
	wall                   time.Duration
	// rate is calls ÷ limit, the bound; bound adds what no rate can
	// save: the last answer's latency, or (when more searches than run at
	// once) the latency chains of the searches one after the other.
	rate, bound time.Duration
}

func (r strictResult) String() string {
	return fmt.Sprintf("%d calls, %d rate-limited (%.1f %%), %d failed searches, wall %.2f s, calls÷limit %.2f s, bound %.2f s, wall/bound %.3f",
		r.calls, r.limited, 100*float64(r.limited)/float64(r.calls), r.failed, r.wall.Seconds(), r.rate.Seconds(), r.bound.Seconds(),
		r.wall.Seconds()/r.bound.Seconds())
}

// applyStrict runs c: the real apply in process, over loopback HTTP, with
// nothing injected (the client really waits).
func applyStrict(tb testing.TB, c strictRun) strictResult {
	tb.Helper()
	dir := tb.TempDir()
	var spec strings.Builder
	fmt.Fprintf(&spec, "version: 1\napi:\n  qps: %g\nsearches:\n", c.qps)
	for i := range c.searches {
		fmt.Fprintf(&spec, "  - name: s%04d\n    image: https://images.test/%04d.png\n    patent_type: D\n    model: 1\n    max_results: %d\n",
			i, i, 100*c.pages)
	}
	specPath := filepath.Join(dir, "patwatch.yaml")
	if err := os.WriteFile(specPath, []byte(spec.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	api := fake.New(fake.Options{APIKeys: []string{testAPIKey}, Latency: c.latency, QPS: c.limit, Limiter: fake.LimitSliding})
	srv := httptest.NewServer(api)
	defer srv.Close()
	envs := map[string]string{"PATSNAP_BASE_URL": srv.URL, "PATSNAP_API_KEY": testAPIKey, "PATWATCH_CACHE_DIR": tb.TempDir()}
	var stdout bytes.Buffer
	e := env{getenv: func(k string) string { return envs[k] }, stdin: strings.NewReader(""), stdout: &stdout, stderr: io.Discard}

	start := time.Now()
	code := runEnv(context.Background(), e, []string{"apply", "-f", specPath, "--state", filepath.Join(dir, "state.json"), "--format", "json"})
	wall := time.Since(start)
	var rep report.ChangeReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		tb.Fatalf("apply exited %d with no change report: %v", code, err)
	}
	r := strictResult{wall: wall}
	for _, s := range rep.Searches {
		if s.Status == report.StatusError {
			r.failed++
		}
	}
	if r.failed == 0 && code != exitOK {
		tb.Fatalf("apply exited %d", code)
	}
	for _, q := range api.Requests() {
		r.calls++
		if q.Code == fake.CodeQPS {
			r.limited++
		}
	}
	if want := c.searches * c.pages; r.calls < want {
		tb.Fatalf("%d calls for %d searches of %d pages: the corpus is too small", r.calls, c.searches, c.pages)
	}
	r.rate = time.Duration(float64(r.calls-r.limited) / c.limit * float64(time.Second))
	chain := c.latency // one answer per search, or page 1 then the rest at once
	if c.pages > 1 {
		chain *= 2
	}
	inFlight := reconciler.ConcurrencyFor(c.qps)
	rounds := (c.searches + inFlight - 1) / inFlight
	r.bound = max(r.rate+c.latency, time.Duration(rounds)*chain)
	return r
}

// TestApplyHoldsStrictRate is the quick form of BenchmarkApply: against a
// gateway that counts strictly, with api.qps equal to its limit, no search
// fails and almost no call is rate-limited; with api.qps twice the limit,
// the client slows down to it and still no search fails. The bounds are
// loose (this runs beside other tests on a shared machine); the benchmark
// measures.
func TestApplyHoldsStrictRate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 8 s")
	}
	tests := []struct {
		name    string
		run     strictRun
		limited float64 // most rate-limited answers, as a share of calls
		wall    float64 // most wall ÷ bound
	}{
		{"qps = limit, one page", strictRun{limit: 20, qps: 20, latency: 50 * time.Millisecond, searches: 60, pages: 1}, 0.1, 1.3},
		{"qps = limit, eleven pages", strictRun{limit: 20, qps: 20, latency: 50 * time.Millisecond, searches: 4, pages: 11}, 0.1, 1.3},
		{"qps twice the limit", strictRun{limit: 10, qps: 20, latency: 50 * time.Millisecond, searches: 30, pages: 1}, 0.25, 1.6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := applyStrict(t, tt.run)
			t.Log(r)
			if r.failed > 0 {
				t.Errorf("%d searches failed", r.failed)
			}
			if share := float64(r.limited) / float64(r.calls); share > tt.limited {
				t.Errorf("%.1f %% of the calls were rate-limited, want at most %.0f %%", 100*share, 100*tt.limited)
			}
			if ratio := r.wall.Seconds() / r.bound.Seconds(); ratio > tt.wall {
				t.Errorf("wall %.2f s is %.2f× the bound %.2f s, want at most %.1f×", r.wall.Seconds(), ratio, r.bound.Seconds(), tt.wall)
			}
		})
	}
}

// BenchmarkApply is issue 11's measure, run by hand (about 15 minutes):
//
//	go test -run '^$' -bench 'Apply$' -benchtime 1x -timeout 60m ./cmd/patwatch
//
// Against the fake with its strict limit, api.qps 2, 8, 20 and 50 × answer
// latency 50 ms, 1 s and 5 s × one page and eleven pages per search, each
// cell sized to about PATWATCH_BENCH_SECONDS (default 20) of calls at the
// limit; then api.qps at twice the limit. Each cell reports the calls, the
// rate-limited answers, the failed searches, the wall time and its bounds.
// -bench 'Apply$/qps=8/' and the like run a part.
func BenchmarkApply(b *testing.B) {
	seconds := 20.0
	if s := os.Getenv("PATWATCH_BENCH_SECONDS"); s != "" {
		if _, err := fmt.Sscan(s, &seconds); err != nil {
			b.Fatalf("PATWATCH_BENCH_SECONDS: %v", err)
		}
	}
	var cells []strictRun
	for _, over := range []float64{1, 2} {
		for _, limit := range []float64{2, 8, 20, 50} {
			for _, latency := range []time.Duration{50 * time.Millisecond, time.Second, 5 * time.Second} {
				for _, pages := range []int{1, 11} {
					calls := seconds * limit
					cells = append(cells, strictRun{limit: limit, qps: limit * over, latency: latency, pages: pages,
						searches: max(1, int(math.Round(calls/float64(pages))))})
				}
			}
		}
	}
	for _, c := range cells {
		name := fmt.Sprintf("qps=%g/limit=%g/latency=%v/pages=%d", c.qps, c.limit, c.latency, c.pages)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r := applyStrict(b, c)
				b.ReportMetric(float64(c.searches), "searches")
				b.ReportMetric(float64(r.calls), "calls")
				b.ReportMetric(float64(r.limited), "rate-limited")
				b.ReportMetric(float64(r.failed), "failed")
				b.ReportMetric(r.wall.Seconds(), "wall-s")
				b.ReportMetric(r.rate.Seconds(), "calls/limit-s")
				b.ReportMetric(r.bound.Seconds(), "bound-s")
				b.ReportMetric(r.wall.Seconds()/r.bound.Seconds(), "wall/bound")
			}
		})
	}
}
