package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

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
		var stdout, stderr buftest.Buffer
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
		bound := time.Duration(float64(hits) / drawings.DefaultConcurrency * float64(latency))
		b.ReportMetric(took.Seconds(), "fetch-s")
		b.ReportMetric(bound.Seconds(), "bound-s")
		b.ReportMetric(took.Seconds()/bound.Seconds(), "fetch/bound")
	}
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
