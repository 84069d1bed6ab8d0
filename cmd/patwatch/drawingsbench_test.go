package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"golang.org/x/sync/errgroup"
)

// BenchmarkApplyDrawings is issue 22's measure of what drawings add to an
// apply: the first apply of a watch list against the fake with its strict
// limit and api.qps at the limit, each search answering 2 hits, so that
// the run fetches 3 images a search (its query image and both hits'
// drawings, --baseline-drawings at its default), beside the bound of the
// calls alone (idealWall). The images are served by the fake with 100 ms
// latency, drawn before the run as a CDN holds them ("reachable"), or
// their host refuses every connection
// ("unreachable", as a host that does not resolve fails at once).
//
//	go test -run '^$' -bench ApplyDrawings -benchtime 1x -count 3 -timeout 30m ./cmd/patwatch
func BenchmarkApplyDrawings(b *testing.B) {
	for _, c := range []strictRun{
		{limit: 8, qps: 8, latency: time.Second, searches: 80, pages: 1},
		{limit: 20, qps: 20, latency: 50 * time.Millisecond, searches: 200, pages: 1},
	} {
		for _, reachable := range []bool{true, false} {
			name := fmt.Sprintf("qps=%g/latency=%v/searches=%d/images=%s", c.qps, c.latency, c.searches,
				map[bool]string{true: "reachable", false: "unreachable"}[reachable])
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					wall, took, fetched, failed := applyWithDrawings(b, c, reachable)
					bound := idealWall(c)
					b.ReportMetric(bound.Seconds(), "bound-s")
					b.ReportMetric(wall.Seconds(), "wall-s")
					b.ReportMetric(wall.Seconds()/bound.Seconds(), "wall/bound")
					b.ReportMetric(took.Seconds(), "drawings-wait-s")
					b.ReportMetric(float64(fetched), "fetched")
					b.ReportMetric(float64(failed), "failed")
				}
			})
		}
	}
}

// applyWithDrawings runs c's first apply, its images reachable or not,
// and returns its wall time, the time it waited for drawings after its
// calls, and how many images it fetched and failed to.
func applyWithDrawings(b *testing.B, c strictRun, reachable bool) (wall, took time.Duration, fetched, failed int) {
	dir := b.TempDir()
	api := fake.New(fake.Options{APIKeys: []string{testAPIKey}, Latency: c.latency, QPS: c.limit, Limiter: fake.LimitSliding})
	var spec strings.Builder
	var links []string // every image the run fetches
	fmt.Fprintf(&spec, "version: 1\napi:\n  qps: %g\nsearches:\n", c.qps)
	for i := range c.searches {
		image := fmt.Sprintf("https://images.test/%04d.png", i)
		links = append(links, image)
		fmt.Fprintf(&spec, "  - name: s%04d\n    image: %s\n    patent_type: D\n    model: 1\n", i, image)
		hits := fakeHits(fmt.Sprintf("CN%04dA", i), fmt.Sprintf("CN%04dB", i))
		for j := range hits {
			hits[j].URL = "https://cdn.test/" + hits[j].PatentPN + ".png"
			links = append(links, hits[j].URL)
		}
		api.SetResults(image, -1, hits...)
	}
	specPath := filepath.Join(dir, "patwatch.yaml")
	if err := os.WriteFile(specPath, []byte(spec.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()

	images := deadHost(b)
	if reachable {
		imgs := fake.New(fake.Options{Latency: 100 * time.Millisecond})
		imgSrv := httptest.NewServer(imgs)
		defer imgSrv.Close()
		images = imgSrv.URL
	}
	base, _ := url.Parse(images)
	if reachable {
		warmImages(b, drawings.SandboxRoute(base), links)
	}
	envs := map[string]string{"PATSNAP_BASE_URL": srv.URL, "PATSNAP_API_KEY": testAPIKey, "PATWATCH_CACHE_DIR": b.TempDir()}
	var stdout, stderr bytes.Buffer
	e := env{getenv: func(k string) string { return envs[k] }, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		tuneDrawings: func(rd runner.Drawings) {
			d := rd.(*drawings.Step)
			d.Fetcher.Reach, d.Fetcher.Route = drawings.WithLoopback, drawings.SandboxRoute(base)
		}}
	start := time.Now()
	code := runEnv(context.Background(), e, []string{"apply", "-f", specPath, "--state", filepath.Join(dir, "state.json"),
		"--format", "json", "--log-format", "json", "--log-level", "info"})
	wall = time.Since(start)
	var rep report.ChangeReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || code != exitOK {
		b.Fatalf("apply exited %d: %v\n%s", code, err, stderr.String())
	}
	for line := range strings.Lines(stderr.String()) {
		var ev struct {
			Fetched, Failed *int
			Took            string
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Fetched != nil {
			took, _ = time.ParseDuration(ev.Took)
			fetched, failed = *ev.Fetched, *ev.Failed
		}
	}
	if fetched+failed != 3*c.searches {
		b.Fatalf("the run fetched %d and failed %d drawings, not the %d of its searches:\n%s", fetched, failed, 3*c.searches, stderr.String())
	}
	return wall, took, fetched, failed
}

// deadHost is the root of a loopback address that refuses every
// connection: a port that was listened on and closed.
func deadHost(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// warmImages has the image fake draw every image of links before the run:
// a CDN serves images it holds, and spends none of the client's CPU, where
// the fake in this process would draw each on its first request.
func warmImages(b *testing.B, route drawings.Route, links []string) {
	var g errgroup.Group
	g.SetLimit(32)
	for _, link := range links {
		u, err := url.Parse(link)
		if err != nil {
			b.Fatal(err)
		}
		g.Go(func() error {
			resp, err := http.Get(route(u).String())
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}
