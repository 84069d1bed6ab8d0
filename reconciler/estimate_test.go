package reconciler

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

func TestSearchCallsArePagesOfMaxResults(t *testing.T) {
	for _, c := range []struct{ max, want int }{{0, 1}, {1, 1}, {100, 1}, {101, 2}, {250, 3}, {1000, 10}, {1100, 11}, {5000, 11}} {
		if got := searchCalls(spec.Search{MaxResults: c.max}); got != c.want {
			t.Errorf("max_results %d: %d pages, want %d", c.max, got, c.want)
		}
	}
	if got := searchCalls(spec.Search{MaxResults: 500, Suspend: true}); got != 0 {
		t.Errorf("a suspended search: %d calls, want 0", got)
	}
}

// estimateClock is the shared clock of the fake and the client in the
// estimate tests.
type estimateClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *estimateClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *estimateClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func writePNG(t *testing.T, path string, shade uint8) spec.Image {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	img.Pix[0] = shade
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return spec.Image{Path: path, SHA256: sha256Hex(b.Bytes())}
}

func withFingerprints(sp *spec.Spec) *spec.Spec {
	for i := range sp.Searches {
		if sp.Searches[i].MaxResults == 0 {
			sp.Searches[i].MaxResults = patsnap.DefaultMaxResults
		}
		sp.Searches[i].Fingerprint = spec.QueryFingerprint(sp.Searches[i])
	}
	return sp
}

// TestEstimateIsNeverBelowTheCallsMade is a property over a table of specs,
// each reconciled in several runs against the fake API through the real
// client (the fake's corpus moves on between runs, report jobs go through
// their states): the calls the fake receives, counted from its request log
// (the token exchange and downloads are no API calls), never exceed the
// run's estimate, in apply or plan, for every entry or a selection.
func TestEstimateIsNeverBelowTheCallsMade(t *testing.T) {
	dir := t.TempDir()
	imgA := writePNG(t, filepath.Join(dir, "a.png"), 10)
	imgB := writePNG(t, filepath.Join(dir, "b.png"), 200)
	d := func(name string, mutate func(*spec.Search)) spec.Search {
		s := spec.Search{Name: name, Images: []spec.Image{{URL: "https://images.test/" + name + ".png"}}, PatentType: "D", Model: 1, DropAfter: 1}
		if mutate != nil {
			mutate(&s)
		}
		return s
	}
	specs := []struct {
		name string
		spec *spec.Spec
		sel  Selection
	}{
		{"paging", &spec.Spec{Searches: []spec.Search{
			d("one", func(s *spec.Search) { s.MaxResults = 1 }),
			d("default", nil),
			d("page-and-a-bit", func(s *spec.Search) { s.MaxResults = 101 }),
			d("most", func(s *spec.Search) { s.MaxResults = 1100 }),
		}}, Selection{}},
		{"min score and few results", &spec.Spec{Searches: []spec.Search{
			d("scored", func(s *spec.Search) { s.MaxResults = 500; s.MinScore = 0.5 }),
			d("narrow", func(s *spec.Search) {
				s.MaxResults = 1000
				s.Filters.Country = []string{"US"}
				s.Filters.ApplyStartTime = "20240101"
			}),
			d("utility", func(s *spec.Search) { s.PatentType, s.Model = "U", 3; s.MaxResults = 300 }),
		}}, Selection{}},
		{"local images and several", &spec.Spec{Searches: []spec.Search{
			d("local", func(s *spec.Search) { s.Images = []spec.Image{imgA} }),
			d("local-again", func(s *spec.Search) { s.Images = []spec.Image{imgA}; s.Model = 2 }),
			d("multi", func(s *spec.Search) {
				s.Images = []spec.Image{imgA, imgB, {URL: "https://images.test/c.png"}}
				s.MaxResults = 200
			}),
			d("suspended", func(s *spec.Search) { s.Suspend = true; s.MaxResults = 1100 }),
		}}, Selection{}},
		{"reports", &spec.Spec{
			Searches: []spec.Search{d("s", nil)},
			Reports: []spec.Report{
				{Name: "logo", PatentNumber: "CN108977442B", Format: "pdf", Logo: true},
				{Name: "plain", PatentNumber: "US10000000B2", Format: "word"},
				{Name: "held", PatentNumber: "CN1B", Format: "pdf", Suspend: true},
			},
		}, Selection{}},
		{"a target", &spec.Spec{
			Searches: []spec.Search{d("x", func(s *spec.Search) { s.MaxResults = 300 }), d("y", func(s *spec.Search) { s.MaxResults = 1100 })},
			Reports:  []spec.Report{{Name: "r", PatentNumber: "CN108977442B", Format: "pdf", Logo: true}},
		}, Selection{Target: []string{"x", "r"}}},
		{"a budget", &spec.Spec{
			Searches: []spec.Search{d("p", func(s *spec.Search) { s.MaxResults = 200 }), d("q", func(s *spec.Search) { s.MaxResults = 900 })},
		}, Selection{Budget: &Budget{Limit: 5}}},
	}
	for _, c := range specs {
		t.Run(c.name, func(t *testing.T) {
			clock := &estimateClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
			api := fake.New(fake.Options{APIKeys: []string{"sk-estimate-test-0123456789"}, Now: clock.now, PollsToFinish: 1, Seed: 13})
			srv := httptest.NewServer(api)
			defer srv.Close()
			client, err := patsnap.New(patsnap.Config{BaseURL: srv.URL, APIKey: "sk-estimate-test-0123456789", QPS: 1000, Now: clock.now,
				Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
			if err != nil {
				t.Fatal(err)
			}
			stateDir := t.TempDir()
			desired := withFingerprints(c.spec)
			recorded := state.New()
			for round := range 4 {
				for _, mode := range []Mode{ModePlan, ModeApply} {
					r := &Reconciler{API: client, StateDir: stateDir, ReportsDir: filepath.Join(stateDir, "reports"), Concurrency: 4,
						Now: clock.now, Log: zerolog.Nop()}
					sc := NewScope(mode, desired, recorded, c.sel, r.now(), r.StateDir)
					est := sc.Estimate()
					api.ResetRequests()
					out := r.Run(context.Background(), sc)
					made := 0
					for _, req := range api.Requests() {
						switch req.Endpoint {
						case fake.EndpointToken, fake.EndpointDownload:
						default:
							made++
						}
					}
					if made > est {
						t.Errorf("round %d, %s: %d calls made, more than the estimate of %d", round, mode.Command(), made, est)
					}
					if out.Report.Calls.Estimated != est {
						t.Errorf("round %d, %s: the change report estimates %d, Estimate said %d", round, mode.Command(), out.Report.Calls.Estimated, est)
					}
					t.Logf("round %d, %s: %d calls made, %d estimated", round, mode.Command(), made, est)
					if mode == ModeApply {
						recorded = out.State
					}
				}
				api.Advance()
				clock.advance(time.Hour)
			}
		})
	}
}
