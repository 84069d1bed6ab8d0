package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
