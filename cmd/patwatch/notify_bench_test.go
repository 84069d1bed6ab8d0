package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// BenchmarkNotify measures what delivery adds to an apply: the same run
// (one search with new and dropped hits) with five channels (three
// webhooks, one signed; shoutrrr's generic:// on an HTTP server; smtp:// on
// a go-smtp server) and without any, side by side, each receiver answering
// after latency. It reports the time the run spent delivering (from the
// runner's log), the wall time of both applies, and the API calls of both.
//
//	go test -run '^$' -bench Notify -benchtime 20x ./cmd/patwatch
func BenchmarkNotify(b *testing.B) {
	for _, latency := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run("receiver-latency-"+latency.String(), func(b *testing.B) { benchNotify(b, latency) })
	}
}

func benchNotify(b *testing.B, latency time.Duration) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(latency)
	})
	hooks := httptest.NewServer(slow)
	defer hooks.Close()
	mailSrv := newSlowSMTPServer(b, latency)

	channels := `
notify:
  - name: hook-a
    url_env: HOOK_A
    secret_env: HOOK_KEY
  - name: hook-b
    url_env: HOOK_B
  - name: hook-c
    url_env: HOOK_C
  - name: chat
    url_env: CHAT
  - name: mail
    url_env: MAIL
`
	with, without := newHarness(b, fake.Options{}), newHarness(b, fake.Options{})
	for k, v := range map[string]string{
		"HOOK_A": hooks.URL + "/a", "HOOK_KEY": "k", "HOOK_B": hooks.URL + "/b", "HOOK_C": hooks.URL + "/c",
		"CHAT": "generic+" + hooks.URL + "/chat",
		"MAIL": "smtp://patwatch:" + smtpPass + "@" + mailSrv + "/?from=patwatch@example.com&to=ip@example.com&usestarttls=no",
	} {
		with.envs[k] = v
	}
	with.writeSpec(watchSpec + channels)
	without.writeSpec(watchSpec)
	sets := [][]fake.Hit{fakeHits("A1", "A2", "A3"), fakeHits("A1", "A4", "A5")}
	for _, h := range []*harness{with, without} {
		h.api.SetResults(imgA, -1, sets[0]...)
		if code, _, stderr := h.run(context.Background(), "apply"); code != exitOK {
			b.Fatalf("baseline: exit %d\n%s", code, stderr)
		}
	}

	var delivery, wallWith, wallWithout time.Duration
	var callsWith, callsWithout int
	i := 0
	for b.Loop() {
		i++
		for _, h := range []*harness{with, without} {
			h.api.SetResults(imgA, -1, sets[i%2]...)
			h.api.ResetRequests()
			start := time.Now()
			code, _, stderr := h.run(context.Background(), "apply", "--log-level", "debug", "--log-format", "json")
			wall := time.Since(start)
			if code != exitOK {
				b.Fatalf("exit %d\n%s", code, stderr)
			}
			if h == with {
				wallWith += wall
				callsWith += len(h.api.Requests())
				d, n := deliveryTime(stderr)
				if n != 5 {
					b.Fatalf("%d channels delivered, want 5\n%s", n, stderr)
				}
				delivery += d
			} else {
				wallWithout += wall
				callsWithout += len(h.api.Requests())
			}
		}
	}
	n := float64(i)
	b.ReportMetric(delivery.Seconds()*1000/n, "deliver-ms")
	b.ReportMetric(wallWith.Seconds()*1000/n, "apply-5-channels-ms")
	b.ReportMetric(wallWithout.Seconds()*1000/n, "apply-no-channel-ms")
	b.ReportMetric(float64(callsWith)/n, "calls-5-channels")
	b.ReportMetric(float64(callsWithout)/n, "calls-no-channel")
}

// deliveryTime reads the runner's "outbox delivered" log line.
func deliveryTime(logs string) (time.Duration, int) {
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Message  string  `json:"message"`
			Took     float64 `json:"took"` // milliseconds
			Channels int     `json:"channels"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Message == "outbox delivered" {
			return time.Duration(l.Took * float64(time.Millisecond)), l.Channels
		}
	}
	return 0, 0
}

// newSlowSMTPServer is an SMTP server that takes latency to accept a mail;
// it returns its address.
func newSlowSMTPServer(b *testing.B, latency time.Duration) string {
	s := newSMTPServer(b)
	s.latency = latency
	return s.addr
}
