package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// receiver is a webhook on loopback that fails its first failFirst
// deliveries with status, then accepts.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	failFirst int
	status    int
	got       []delivery
}

type delivery struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T, failFirst, status int) *receiver {
	r := &receiver{failFirst: failFirst, status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		code := http.StatusNoContent
		if r.failFirst > 0 {
			r.failFirst--
			code = r.status
		}
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: b, status: code})
		w.WriteHeader(code)
		if code >= 300 {
			io.WriteString(w, "try later\n")
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// testNotifier waits for nothing and logs into buf.
func testNotifier(env map[string]string, now func() time.Time, log *bytes.Buffer) *Notifier {
	n := &Notifier{
		Getenv: func(k string) string { return env[k] },
		Now:    now,
		Sleep:  func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}
	if log != nil {
		n.Log = zerolog.New(log)
	}
	return n
}

func message(id, channel string) *state.Message {
	return &state.Message{ID: id, Channel: channel, GeneratedAt: runTime, Spec: "patwatch.yaml",
		Events: []state.Event{{Kind: KindNew, Search: "s", PatentPN: "CN1S", Title: "t", Score: 0.9}}}
}

func TestWebhookDelivery(t *testing.T) {
	rcv := newReceiver(t, 0, 0)
	n := testNotifier(map[string]string{"HOOK": rcv.URL + "/hook", "KEY": "s3cret"}, nil, nil)
	n.UserAgent = "patwatch/test"
	ch := []spec.Channel{{Name: "ip-team", URLEnv: "HOOK", SecretEnv: "KEY", On: spec.EventKinds}}
	m := message("L:1:ip-team:abc", "ip-team")
	out := n.Deliver(context.Background(), ch, []*state.Message{m}, nil)
	if err := out.Err(); err != nil || len(out.Outbox) != 0 {
		t.Fatalf("err %v, outbox %d", err, len(out.Outbox))
	}
	if got := out.Channels; len(got) != 1 || len(got[0].Delivered) != 1 || got[0].Delivered[0] != m.ID {
		t.Errorf("outcome: %+v", got)
	}
	d := rcv.deliveries()
	if len(d) != 1 {
		t.Fatalf("%d deliveries", len(d))
	}
	h := d[0].header
	if h.Get("Content-Type") != "application/json" || h.Get("Idempotency-Key") != m.ID || h.Get("User-Agent") != "patwatch/test" {
		t.Errorf("headers: %v", h)
	}
	if !bytes.Equal(d[0].body, Body(m)) {
		t.Errorf("body %s", d[0].body)
	}
	// The receiver's check, as the README shows it.
	want := Signature([]byte("s3cret"), d[0].body)
	if got := h.Get("X-Patwatch-Signature"); !hmac.Equal([]byte(got), []byte(want)) || !strings.HasPrefix(got, "sha256=") {
		t.Errorf("signature %q, want %q", got, want)
	}
}

// TestRetriesWithinARun: a receiver that fails twice with 503 gets the
// message on the third attempt, with the same id and body each time, after
// waits that double.
func TestRetriesWithinARun(t *testing.T) {
	rcv := newReceiver(t, 2, http.StatusServiceUnavailable)
	var waits []time.Duration
	n := testNotifier(map[string]string{}, nil, nil)
	n.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	ch := []spec.Channel{{Name: "a", URL: rcv.URL, On: spec.EventKinds}}
	out := n.Deliver(context.Background(), ch, []*state.Message{message("id-1", "a")}, nil)
	if err := out.Err(); err != nil || len(out.Outbox) != 0 {
		t.Fatalf("err %v, outbox %d", err, len(out.Outbox))
	}
	d := rcv.deliveries()
	if len(d) != 3 || !bytes.Equal(d[0].body, d[2].body) || d[0].header.Get("Idempotency-Key") != d[2].header.Get("Idempotency-Key") {
		t.Errorf("%d deliveries, not three of the same message", len(d))
	}
	if len(waits) != 2 || waits[0] != DefaultBackoff || waits[1] != 2*DefaultBackoff {
		t.Errorf("waits %v", waits)
	}
}

// TestFailureKeepsMessagesInOrder: a channel that keeps failing keeps every
// message, records the failure on each, and later ones are not tried after
// the first failed; another channel is delivered regardless.
func TestFailureKeepsMessagesInOrder(t *testing.T) {
	down := newReceiver(t, 1000, http.StatusBadGateway)
	up := newReceiver(t, 0, 0)
	clock := runTime
	n := testNotifier(map[string]string{"DOWN": down.URL, "UP": up.URL}, func() time.Time { return clock }, nil)
	ch := []spec.Channel{{Name: "down", URLEnv: "DOWN", On: spec.EventKinds}, {Name: "up", URLEnv: "UP", On: spec.EventKinds}}
	outbox := []*state.Message{message("d1", "down"), message("u1", "up"), message("d2", "down")}
	out := n.Deliver(context.Background(), ch, outbox, nil)

	if len(out.Outbox) != 2 || out.Outbox[0].ID != "d1" || out.Outbox[1].ID != "d2" {
		t.Fatalf("outbox %v", ids(out.Outbox))
	}
	for _, m := range out.Outbox {
		if m.Attempts != 1 || !m.FirstFailed.Equal(runTime) || !strings.Contains(m.LastError, "502 Bad Gateway") {
			t.Errorf("%s: attempts %d, first failed %v, last error %q", m.ID, m.Attempts, m.FirstFailed, m.LastError)
		}
	}
	if outbox[0].Attempts != 0 {
		t.Error("Deliver changed the outbox it was given")
	}
	if got := len(down.deliveries()); got != DefaultAttempts {
		t.Errorf("the failing channel got %d attempts, want %d (the second message waits)", got, DefaultAttempts)
	}
	if len(up.deliveries()) != 1 {
		t.Error("the working channel did not get its message")
	}
	var de *DeliveryError
	if err := out.Err(); !errors.As(err, &de) || !strings.Contains(err.Error(), "notification to down failed") || !strings.Contains(err.Error(), "2 messages kept") {
		t.Errorf("error: %v", err)
	}

	// A week of failures later the messages are given up, with an error.
	clock = runTime.Add(MaxAge)
	again := n.Deliver(context.Background(), ch, out.Outbox, nil)
	if len(again.Outbox) != 0 || !again.Channels[0].Expired || len(again.Channels[0].Dropped) != 2 {
		t.Errorf("after 7 days: outbox %v, outcome %+v", ids(again.Outbox), again.Channels)
	}
	if err := again.Err(); err == nil || !strings.Contains(err.Error(), "undeliverable for 7 days, dropped") {
		t.Errorf("error: %v", err)
	}
}

// TestRefusalIsNotRetriedWithinTheRun: a 4xx answer is final for the run.
func TestRefusalIsNotRetriedWithinTheRun(t *testing.T) {
	rcv := newReceiver(t, 1000, http.StatusUnauthorized)
	n := testNotifier(nil, nil, nil)
	out := n.Deliver(context.Background(), []spec.Channel{{Name: "a", URL: rcv.URL, On: spec.EventKinds}}, []*state.Message{message("x", "a")}, nil)
	if len(rcv.deliveries()) != 1 || len(out.Outbox) != 1 {
		t.Errorf("%d attempts, outbox %d", len(rcv.deliveries()), len(out.Outbox))
	}
}

func TestUnsetVariableKeepsMessages(t *testing.T) {
	n := testNotifier(map[string]string{"HOOK": "https://hooks.example.com/x"}, func() time.Time { return runTime }, nil)
	for _, ch := range []spec.Channel{
		{Name: "a", URLEnv: "PATWATCH_NOTIFY_A", On: spec.EventKinds},
		{Name: "a", URLEnv: "HOOK", SecretEnv: "PATWATCH_NOTIFY_A_KEY", On: spec.EventKinds},
	} {
		out := n.Deliver(context.Background(), []spec.Channel{ch}, []*state.Message{message("x", "a")}, nil)
		var ue *UnsetError
		if err := out.Err(); !errors.As(err, &ue) || len(out.Outbox) != 1 {
			t.Errorf("%+v: err %v, outbox %d", ch, err, len(out.Outbox))
			continue
		}
		want := ch.URLEnv
		if ch.SecretEnv != "" {
			want = ch.SecretEnv
		}
		if ue.Variable != want || !strings.Contains(out.Err().Error(), want+" is not set") {
			t.Errorf("the error does not name %s: %v", want, out.Err())
		}
		if out.Outbox[0].FirstFailed.IsZero() {
			t.Error("an unset variable does not start the 7 days")
		}
	}
}

func TestChannelLeftTheSpec(t *testing.T) {
	n := testNotifier(nil, nil, nil)
	out := n.Deliver(context.Background(), nil, []*state.Message{message("x", "gone")}, nil)
	if len(out.Outbox) != 0 || !out.Channels[0].Gone || out.Err() != nil {
		t.Errorf("outbox %d, outcome %+v, err %v", len(out.Outbox), out.Channels, out.Err())
	}
}

func TestInterruptedDeliveryKeepsWhatWasNotTried(t *testing.T) {
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	defer close(hold)
	ctx, cancel := context.WithCancel(context.Background())
	n := testNotifier(nil, nil, nil)
	n.Client = &http.Client{Transport: &cancelOnSend{cancel: cancel}}
	out := n.Deliver(ctx, []spec.Channel{{Name: "a", URL: srv.URL, On: spec.EventKinds}}, []*state.Message{message("x", "a"), message("y", "a")}, nil)
	if len(out.Outbox) != 2 || out.Outbox[0].Attempts != 0 || out.Err() != nil {
		t.Errorf("outbox %v attempts %d err %v", ids(out.Outbox), out.Outbox[0].Attempts, out.Err())
	}
}

// cancelOnSend cancels the delivery's context as a request leaves.
type cancelOnSend struct{ cancel func() }

func (c *cancelOnSend) RoundTrip(r *http.Request) (*http.Response, error) {
	c.cancel()
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// TestSecretsNeverInErrorsOrLogs: what a failed request says (Go quotes the
// URL) reaches neither the error, the state's last_error, nor the log.
func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: the connection is refused
	const token = "T0KEN-abc123-very-secret"
	var log bytes.Buffer
	n := testNotifier(map[string]string{"HOOK": "http://" + addr + "/hooks/" + token + "?key=" + token + "q", "KEY": "hmac-key-secret"}, nil, &log)
	out := n.Deliver(context.Background(), []spec.Channel{{Name: "a", URLEnv: "HOOK", SecretEnv: "KEY", On: spec.EventKinds}}, []*state.Message{message("x", "a")}, nil)
	text := out.Err().Error() + out.Outbox[0].LastError + log.String()
	if !strings.Contains(text, "refused") {
		t.Errorf("the error does not say what happened: %s", text)
	}
	for _, s := range []string{token, "hmac-key-secret", "/hooks/"} {
		if strings.Contains(text, s) {
			t.Errorf("%q leaked:\n%s", s, text)
		}
	}
}

func TestScrub(t *testing.T) {
	raw := "slack://hook:AAA-BBB-CCC@webhook?botname=pw&title=x"
	msg := `Post "https://hooks.slack.com/services/AAA/BBB/CCC": hook:AAA-BBB-CCC failed`
	got := scrub(msg, secretsOf(raw))
	if strings.Contains(got, "AAA-BBB-CCC") {
		t.Errorf("scrub left the token: %s", got)
	}
	raw = "slack://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook"
	got = scrub(`Post "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX": 404`, secretsOf(raw))
	if strings.Contains(got, "XXXXXXXX") || strings.Contains(got, "T00000000") {
		t.Errorf("scrub left the token's parts: %s", got)
	}
	// A short path is a word, not a token: messages keep reading.
	raw = "http://127.0.0.1:8080/hook"
	if got := scrub("the webhook answered HTTP 500", secretsOf(raw)); got != "the webhook answered HTTP 500" {
		t.Errorf("scrub over-redacted: %s", got)
	}
	raw = "smtp://user:p%40ss@mail.example.com:587/?from=a@example.com&to=b@example.com"
	got = scrub("535 auth failed for user with p@ss and p%40ss", secretsOf(raw))
	if strings.Contains(got, "p@ss") || strings.Contains(got, "p%40ss") {
		t.Errorf("scrub left the password: %s", got)
	}
}

func ids(msgs []*state.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

// teamsURL is shoutrrr's documented example of a Teams webhook.
const teamsURL = "teams://11111111-4444-4444-8444-cccccccccccc@22222222-4444-4444-8444-cccccccccccc/33333333012222222222333333333344/44444444-4444-4444-8444-cccccccccccc/V2ESyij_gAljSoUQHvZoZYzlpAoAXExyOl26dlf1xHEx05?host=contoso.webhook.office.com"
