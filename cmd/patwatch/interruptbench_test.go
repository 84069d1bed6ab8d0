package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/state/filestore"
)

// BenchmarkInterruptedApply is issue 22's "Ctrl-C saved nothing", measured
// from outside: the first apply of 20 searches × 6 pages at api.qps 5
// (120 calls, 24 s at the strict fake's limit), by built binaries run as
// child processes (PATWATCH_MEM_BINS, alternating), interrupted with
// SIGINT after 5 s and 15 s, and killed with SIGKILL after 15 s; what the
// state holds then, and the calls the run had made.
//
//	PATWATCH_MEM_BINS=/tmp/bins/base,/tmp/bins/new \
//	  go test -run '^$' -bench InterruptedApply -benchtime 1x -timeout 30m ./cmd/patwatch
func BenchmarkInterruptedApply(b *testing.B) {
	binsEnv := os.Getenv("PATWATCH_MEM_BINS")
	if binsEnv == "" {
		b.Skip("set PATWATCH_MEM_BINS=/path/a,/path/b to patwatch binaries to measure")
	}
	bins := strings.Split(binsEnv, ",")
	rounds := memEnvInt(b, "PATWATCH_MEM_ROUNDS", 2)
	for b.Loop() {
		images := httptest.NewServer(fake.New(fake.Options{}))
		b.Cleanup(images.Close)
		for round := 1; round <= rounds; round++ {
			for _, stop := range []struct {
				sig   syscall.Signal
				after time.Duration
			}{{syscall.SIGINT, 5 * time.Second}, {syscall.SIGINT, 15 * time.Second}, {syscall.SIGKILL, 15 * time.Second}} {
				for _, bin := range bins {
					saved, calls := interruptedApply(b, bin, images.URL, stop.sig, stop.after)
					memSay("round %d %-10s %-8v after %-4v saved %2d of 20 searches, %3d calls made", round, filepath.Base(bin), stop.sig, stop.after, saved, calls)
				}
			}
		}
	}
}

// interruptedApply runs bin's first apply of the paced spec, stops it with
// sig after d, and returns the searches the state holds and the calls made.
func interruptedApply(b *testing.B, bin, images string, sig syscall.Signal, d time.Duration) (saved, calls int) {
	dir := b.TempDir()
	api := fake.New(fake.Options{APIKeys: []string{testAPIKey}, QPS: 5, Limiter: fake.LimitSliding})
	srv := httptest.NewServer(api)
	defer srv.Close()
	var spec strings.Builder
	spec.WriteString("version: 1\napi:\n  qps: 5\nsearches:\n")
	for i := range 20 {
		img := fmt.Sprintf("%s/query/%02d.png", images, i)
		fmt.Fprintf(&spec, "  - name: s%02d\n    image: %s\n    patent_type: D\n    model: 1\n    max_results: 600\n", i, img)
		hits := make([]fake.Hit, 600)
		for j := range hits {
			hits[j] = fake.Hit{PatentPN: fmt.Sprintf("P%02d%03d", i, j), Score: 0.99 - float64(j)/1000, URL: fmt.Sprintf("%s/hit/%02d-%03d.png", images, i, j)}
		}
		api.SetResults(img, 600, hits...)
	}
	specPath := filepath.Join(dir, "patwatch.yaml")
	if err := os.WriteFile(specPath, []byte(spec.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	statePath := filepath.Join(dir, "state.json")
	cmd := exec.Command(bin, "apply", "-f", specPath, "--state", statePath, "--baseline-drawings", "0")
	cmd.Env = append(os.Environ(), "PATSNAP_BASE_URL="+srv.URL, "PATSNAP_API_KEY="+testAPIKey, "PATWATCH_CACHE_DIR="+filepath.Join(dir, "cache"))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(d)
	cmd.Process.Signal(sig)
	cmd.Wait()
	calls = len(api.Requests())
	if st, err := filestore.Load(statePath); err == nil {
		saved = len(st.Searches)
	}
	return saved, calls
}
