package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/runner"
)

// BenchmarkApply applies specs of many searches against the fake API with a
// latency per answer and a QPS cap, with the client capped at the same QPS,
// and reports the API calls made against the minimum (one page per search)
// and the wall time against its lower bound, calls ÷ QPS. The first case is
// issue 5's measure; the second has a slow API, where the searches kept in
// flight, not the rate cap, could set the pace.
//
//	go test -run '^$' -bench Apply -benchtime 1x ./cmd/patwatch
func BenchmarkApply(b *testing.B) {
	cases := []struct {
		name     string
		searches int
		qps      int
		latency  time.Duration
	}{
		{"200-searches-10qps-200ms", 200, 10, 200 * time.Millisecond},
		{"100-searches-5qps-3s", 100, 5, 3 * time.Second},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchApply(b, c.searches, c.qps, c.latency) })
	}
}

func benchApply(b *testing.B, searches, qps int, latency time.Duration) {
	dir := b.TempDir()
	var spec strings.Builder
	fmt.Fprintf(&spec, "version: 1\napi:\n  qps: %d\nsearches:\n", qps)
	for i := range searches {
		fmt.Fprintf(&spec, "  - name: s%03d\n    image: https://images.test/%03d.png\n    patent_type: D\n    model: 1\n    max_results: 100\n", i, i)
	}
	specPath := filepath.Join(dir, "patwatch.yaml")
	if err := os.WriteFile(specPath, []byte(spec.String()), 0o644); err != nil {
		b.Fatal(err)
	}

	for b.Loop() {
		api := fake.New(fake.Options{APIKeys: []string{testAPIKey}, Latency: latency, QPS: float64(qps)})
		srv := httptest.NewServer(api)
		statePath := filepath.Join(b.TempDir(), "state.json")
		envs := map[string]string{"PATSNAP_BASE_URL": srv.URL, "PATSNAP_API_KEY": testAPIKey, "PATWATCH_CACHE_DIR": b.TempDir()}
		// The query images come from a local server, drawn ahead (the
		// image host's work is not the client's); no baseline drawing is
		// fetched: this measures the API's pace, and reports the drawings
		// step apart (BenchmarkDrawingsFetch measures the drawings).
		imageServer := fake.New(fake.Options{})
		images := httptest.NewServer(imageServer)
		warmDrawings(imageServer, searches, func(i int) string { return fmt.Sprintf("remote/images.test/%03d.png", i) })
		var logs syncBuffer
		e := env{getenv: func(k string) string { return envs[k] }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: &logs,
			tuneDrawings: func(d *runner.Drawings) { d.Client.Transport.(*imageRoute).next = offline{images: images.URL} }}

		start := time.Now()
		code := runEnv(context.Background(), e, []string{"apply", "-f", specPath, "--state", statePath, "--baseline-drawings", "0", "--log-format", "json"})
		wall := time.Since(start)
		srv.Close()
		images.Close()
		if code != exitOK {
			b.Fatalf("apply exited %d", code)
		}
		calls, limited := 0, 0
		for _, r := range api.Requests() {
			calls++
			if r.Code == 67200002 {
				limited++
			}
		}
		bound := time.Duration(float64(calls) / float64(qps) * float64(time.Second))
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(searches), "min-calls")
		b.ReportMetric(float64(limited), "rate-limited")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(bound.Seconds(), "bound-s")
		b.ReportMetric(wall.Seconds()/bound.Seconds(), "wall/bound")
		b.ReportMetric(drawingsTook(logs.String()).Seconds(), "drawings-s")
	}
}

// warmDrawings has srv draw the pictures of n image paths before a
// measure, in parallel.
func warmDrawings(srv *fake.Server, n int, path func(int) string) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, fake.PathImagePrefix+path(i), nil))
		})
	}
	wg.Wait()
}

// drawingsTook is the time of the drawings step an apply logged, in JSON.
func drawingsTook(logs string) time.Duration {
	for _, line := range strings.Split(logs, "\n") {
		var ev struct {
			Fetched *int   `json:"fetched"`
			Took    string `json:"took"`
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Fetched != nil {
			d, _ := time.ParseDuration(ev.Took)
			return d
		}
	}
	return 0
}

// BenchmarkWatchSaveToRun measures, for 20 saves of the spec (alternately in
// place and renamed over it), the time from the save to the start of the run
// it triggers, with the default 200 ms debounce, and reports the median and
// the maximum.
//
//	go test -run '^$' -bench WatchSaveToRun -benchtime 1x ./cmd/patwatch
func BenchmarkWatchSaveToRun(b *testing.B) {
	for b.Loop() {
		h := newHarness(b, fake.Options{})
		h.api.SetResults(imgA, -1, fakeHits("A1")...)
		specPath := filepath.Join(h.dir, "patwatch.yaml")
		if err := os.WriteFile(specPath, []byte(watchSpec), 0o644); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.runTo(ctx, &stdout, &stderr, "watch", "--interval", "1h", "--log-format", "json")
		}()
		started := func() int { return strings.Count(stderr.String(), `"trigger":"spec changed"`) }
		waitUntil := func(cond func() bool) { waitFor(b, "the watch loop", cond) }
		waitUntil(func() bool { return strings.Contains(stderr.String(), "run finished") })

		var lat []time.Duration
		for i := range 20 {
			content := []byte(withMax(fmt.Sprint(i + 20)))
			t0 := time.Now()
			if i%2 == 0 {
				os.WriteFile(specPath, content, 0o644)
			} else {
				tmp := specPath + ".tmp"
				os.WriteFile(tmp, content, 0o644)
				os.Rename(tmp, specPath)
			}
			waitUntil(func() bool { return started() == i+1 })
			lat = append(lat, time.Since(t0))
			waitUntil(func() bool { return strings.Count(stderr.String(), "run finished") == i+2 })
		}
		cancel()
		<-done
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
}

// BenchmarkDrawingsFetch measures the drawings step of an apply that finds
// 100 new hits, their drawings served by the fake with 100 ms latency, and
// reports its time against the bound hits ÷ fetch concurrency × latency.
//
//	go test -run '^$' -bench DrawingsFetch -benchtime 1x ./cmd/patwatch
func BenchmarkDrawingsFetch(b *testing.B) {
	const hits, latency = 100, 100 * time.Millisecond
	for b.Loop() {
		h := newHarness(b, fake.Options{})
		images := fake.New(fake.Options{Latency: latency})
		srv := httptest.NewServer(images)
		h.imagesURL = srv.URL
		h.writeSpec("version: 1\nsearches:\n  - name: alpha\n    image: " + imgA + "\n    patent_type: D\n    model: 1\n")
		h.api.SetResults(imgA, -1)
		if code, _, stderr := h.run(context.Background(), "apply"); code != exitOK { // the baseline: the query image only
			b.Fatalf("baseline: exit %d\n%s", code, stderr)
		}
		pns := make([]string, hits)
		for i := range pns {
			pns[i] = fmt.Sprintf("CN3%08dS", i)
		}
		h.api.SetResults(imgA, -1, fakeHits(pns...)...)
		var warm sync.WaitGroup
		for _, pn := range pns { // drawn ahead: the fake's drawing is not the client's work
			warm.Go(func() {
				images.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, fake.PathImagePrefix+"remote/img.test/"+pn+".png", nil))
			})
		}
		warm.Wait()
		images.ResetRequests()
		code, _, stderr := h.run(context.Background(), "apply", "--log-format", "json")
		srv.Close()
		if code != exitOK {
			b.Fatalf("exit %d\n%s", code, stderr)
		}
		took := drawingsTook(stderr)
		if took == 0 || len(images.Requests()) != hits {
			b.Fatalf("%d drawings fetched, no log line of %d:\n%s", len(images.Requests()), hits, stderr)
		}
		bound := time.Duration(float64(hits) / runner.DefaultDrawingConcurrency * float64(latency))
		b.ReportMetric(took.Seconds(), "fetch-s")
		b.ReportMetric(bound.Seconds(), "bound-s")
		b.ReportMetric(took.Seconds()/bound.Seconds(), "fetch/bound")
	}
}
