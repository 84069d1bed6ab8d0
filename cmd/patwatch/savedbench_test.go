package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// BenchmarkSavedPlan is issue 24's measure of a saved plan: the review of a
// change (plan) then its apply, as plan + apply and as plan --save + apply
// FILE, against the fake with its strict rate limit (20 a second, a
// sliding second, 50 ms an answer), for a watch list of 60 searches of one
// page and a report, after its baseline and one epoch of new hits. It
// reports the API calls and the wall time of each pair; the real client
// waits, nothing is injected.
//
//	go test -run '^$' -bench SavedPlan -benchtime 1x ./cmd/patwatch
func BenchmarkSavedPlan(b *testing.B) {
	for _, saved := range []bool{false, true} {
		name := "plan+apply"
		if saved {
			name = "plan-save+apply-FILE"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				calls, wall := planThenApply(b, saved)
				b.ReportMetric(float64(calls), "calls")
				b.ReportMetric(wall.Seconds(), "wall-s")
			}
		})
	}
}

// planThenApply makes the baseline, moves the corpus on, and times a plan
// and the apply after it (of the saved plan, when saved).
func planThenApply(b *testing.B, saved bool) (calls int, wall time.Duration) {
	dir := b.TempDir()
	var spec strings.Builder
	spec.WriteString("version: 1\napi:\n  qps: 20\nsearches:\n")
	for i := range 60 {
		fmt.Fprintf(&spec, "  - name: s%02d\n    image: https://images.test/%02d.png\n    patent_type: D\n    model: 1\n", i, i)
	}
	spec.WriteString("reports:\n  - name: r\n    patent_number: CN108977442B\n    format: pdf\n")
	specPath := filepath.Join(dir, "patwatch.yaml")
	if err := os.WriteFile(specPath, []byte(spec.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	api := fake.New(fake.Options{APIKeys: []string{testAPIKey}, Latency: 50 * time.Millisecond, QPS: 20, Limiter: fake.LimitSliding})
	srv := httptest.NewServer(api)
	defer srv.Close()
	envs := map[string]string{"PATSNAP_BASE_URL": srv.URL, "PATSNAP_API_KEY": testAPIKey, "PATWATCH_CACHE_DIR": b.TempDir()}
	run := func(args ...string) {
		var stdout, stderr bytes.Buffer
		e := env{getenv: func(k string) string { return envs[k] }, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
		args = append(args, "-f", specPath)
		if code := runEnv(context.Background(), e, args); code != exitOK && code != exitChanged {
			b.Fatalf("%v: exit %d\n%s", args, code, stderr.String())
		}
	}
	run("apply", "--baseline-drawings", "0")
	api.Advance()
	api.ResetRequests()
	start := time.Now()
	if saved {
		plan := filepath.Join(dir, "p.plan")
		run("plan", "--save", plan)
		run("apply", plan, "--baseline-drawings", "0")
	} else {
		run("plan")
		run("apply", "--baseline-drawings", "0")
	}
	return len(api.Requests()), time.Since(start)
}
