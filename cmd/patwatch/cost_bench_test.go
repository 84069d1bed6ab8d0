package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// BenchmarkWatchOneSearchEdit is issue 13's measure: a watch of 200
// searches against the fake API capped at 5 QPS (the client at the same
// cap, the fake answering after 50 ms), one search's max_results edited,
// and the calls and the wall time from the save to the end of the run it
// triggers. The state holds every search's baseline before the watch
// starts (an apply against an uncapped fake with the same corpus), so the
// watch's start run refreshes them all once before the edit.
//
//	go test -run '^$' -bench WatchOneSearchEdit -benchtime 1x ./cmd/patwatch
func BenchmarkWatchOneSearchEdit(b *testing.B) {
	const searches, qps = 200, 5
	for b.Loop() {
		dir := b.TempDir()
		specText := func(qps int, edited bool) string {
			var s strings.Builder
			fmt.Fprintf(&s, "version: 1\napi:\n  qps: %d\nsearches:\n", qps)
			for i := range searches {
				max := 100
				if edited && i == 17 {
					max = 50
				}
				fmt.Fprintf(&s, "  - name: s%03d\n    image: https://images.test/%03d.png\n    patent_type: D\n    model: 1\n    max_results: %d\n", i, i, max)
			}
			return s.String()
		}
		specPath, statePath := filepath.Join(dir, "patwatch.yaml"), filepath.Join(dir, "state.json")
		run := func(ctx context.Context, api *fake.Server, stderr io.Writer, args ...string) int {
			srv := httptest.NewServer(api)
			defer srv.Close()
			envs := map[string]string{"PATSNAP_BASE_URL": srv.URL, "PATSNAP_API_KEY": testAPIKey, "PATWATCH_CACHE_DIR": filepath.Join(dir, "cache")}
			e := env{getenv: func(k string) string { return envs[k] }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr}
			return runEnv(ctx, e, append(args, "-f", specPath, "--state", statePath))
		}

		// The baselines, quickly.
		if err := os.WriteFile(specPath, []byte(specText(100, false)), 0o644); err != nil {
			b.Fatal(err)
		}
		var out buftest.Buffer
		if code := run(context.Background(), fake.New(fake.Options{APIKeys: []string{testAPIKey}}), &out, "apply"); code != exitOK {
			b.Log(out.String())
			b.Fatalf("baseline apply exited %d", code)
		}

		// The watch at 5 QPS.
		if err := os.WriteFile(specPath, []byte(specText(qps, false)), 0o644); err != nil {
			b.Fatal(err)
		}
		api := fake.New(fake.Options{APIKeys: []string{testAPIKey}, QPS: qps, Latency: 50 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		var stderr buftest.Buffer
		done := make(chan struct{})
		go func() {
			defer close(done)
			run(ctx, api, &stderr, "watch", "--interval", "24h", "--log-format", "json")
		}()
		finished := func() int { return strings.Count(stderr.String(), `"message":"run finished"`) }
		waitWithin(b, 5*time.Minute, "the start run", func() bool { return finished() == 1 })

		api.ResetRequests()
		t0 := time.Now()
		if err := os.WriteFile(specPath, []byte(specText(qps, true)), 0o644); err != nil {
			b.Fatal(err)
		}
		waitWithin(b, 5*time.Minute, "the run after the edit", func() bool { return finished() == 2 })
		wall := time.Since(t0)
		calls := 0
		for _, r := range api.Requests() {
			if r.Endpoint != fake.EndpointToken {
				calls++
			}
		}
		cancel()
		<-done
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(wall.Seconds(), "save-to-end-s")
	}
}
