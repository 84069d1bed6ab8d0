package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
)

// notifySpec has a search, a report and one webhook channel with a key.
const notifySpec = `
version: 1
links:
  patent: "https://worldwide.espacenet.com/patent/search?q=pn%3D{patent_pn}"
searches:
  - name: alpha
    image: https://images.test/a.png
    patent_type: D
    model: 1
reports:
  - name: cn108977442b
    patent_number: CN108977442B
    format: pdf
notify:
  - name: hook
    url_env: PATWATCH_NOTIFY_HOOK
    secret_env: PATWATCH_NOTIFY_HOOK_KEY
`

// Secrets of the tests' channels: none may appear in any output.
const (
	hookToken = "tok-9f2c1b7e5d"
	hookKey   = "hmac-key-4e1d2c"
	smtpPass  = "mail-pass-7a3b"
)

// webhookMessage is the contract's message, as a receiver decodes it.
type webhookMessage struct {
	FormatVersion string           `json:"format_version"`
	ID            string           `json:"id"`
	Channel       string           `json:"channel"`
	GeneratedAt   string           `json:"generated_at"`
	Spec          string           `json:"spec"`
	Simulated     bool             `json:"simulated"`
	Events        []map[string]any `json:"events"`
}

type hookDelivery struct {
	header   http.Header
	body     []byte
	accepted bool
	msg      webhookMessage
}

// hookReceiver is a webhook on loopback: it refuses its first fail
// deliveries with 503, and while hold is set it holds every request
// unanswered until the client goes away.
type hookReceiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	fail     int
	hold     bool
	arrivals chan struct{}
	got      []hookDelivery
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t, arrivals: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		d := hookDelivery{header: req.Header.Clone(), body: b}
		if err := json.Unmarshal(b, &d.msg); err != nil {
			t.Errorf("the webhook got a body that is not JSON: %v\n%s", err, b)
		}
		r.mu.Lock()
		hold := r.hold
		code := http.StatusOK
		if r.fail > 0 {
			r.fail--
			code = http.StatusServiceUnavailable
		}
		d.accepted = code == http.StatusOK && !hold
		r.got = append(r.got, d)
		r.mu.Unlock()
		r.arrivals <- struct{}{}
		if hold {
			<-req.Context().Done()
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) url() string { return r.srv.URL + "/hooks/" + hookToken }

func (r *hookReceiver) set(fail int, hold bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail, r.hold = fail, hold
}

func (r *hookReceiver) deliveries() []hookDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookDelivery(nil), r.got...)
}

// accepted lists the messages the receiver accepted, in order.
func (r *hookReceiver) accepted() []hookDelivery {
	var out []hookDelivery
	for _, d := range r.deliveries() {
		if d.accepted {
			out = append(out, d)
		}
	}
	return out
}

// checkSigned verifies a delivery as a receiver does (the README's code).
func checkSigned(t *testing.T, d hookDelivery) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(hookKey))
	mac.Write(d.body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(d.header.Get("X-Patwatch-Signature")), []byte(want)) {
		t.Errorf("signature %q does not verify", d.header.Get("X-Patwatch-Signature"))
	}
	if d.header.Get("Content-Type") != "application/json" || d.header.Get("Idempotency-Key") != d.msg.ID || d.msg.ID == "" {
		t.Errorf("headers %v, id %q", d.header, d.msg.ID)
	}
}

// notifyHarness is a harness with notifySpec, the webhook's URL and key in
// the environment, and a first apply (the baseline) done: A1 to A3, then
// A4 new and A3 dropped.
func notifyHarness(t *testing.T) (*harness, *hookReceiver) {
	return notifyHarnessOf(t, []string{"A1", "A2", "A3"}, []string{"A1", "A4", "A2"})
}

// notifyHarnessOf is notifyHarness with the search's hits baseline at the
// baseline, and next from then on.
func notifyHarnessOf(t *testing.T, baseline, next []string) (*harness, *hookReceiver) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	rcv := newHookReceiver(t)
	h.envs["PATWATCH_NOTIFY_HOOK"] = rcv.url()
	h.envs["PATWATCH_NOTIFY_HOOK_KEY"] = hookKey
	h.writeSpec(notifySpec)
	h.api.SetResults(imgA, -1, fakeHits(baseline...)...)
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Fatalf("a baseline sent %d notifications", n)
	}
	h.api.SetResults(imgA, -1, fakeHits(next...)...)
	return h, rcv
}

// TestNotifyWebhookEndToEnd: the run after a baseline sends one message
// with its new hit, dropped hit and finished report, signed, and leaves
// nothing in the outbox.
func TestNotifyWebhookEndToEnd(t *testing.T) {
	h, rcv := notifyHarness(t)
	code, rep, stderr := h.apply("--log-level", "info") // deliveries are logged at info
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := rcv.accepted()
	if len(got) != 1 {
		t.Fatalf("%d messages accepted, want 1", len(got))
	}
	d := got[0]
	checkSigned(t, d)
	m := d.msg
	if m.FormatVersion != "1" || m.Channel != "hook" || m.Simulated || m.Spec != h.path("patwatch.yaml") || m.GeneratedAt == "" {
		t.Errorf("message: %+v", m)
	}
	var kinds []string
	for _, e := range m.Events {
		kinds = append(kinds, e["kind"].(string))
	}
	if strings.Join(kinds, " ") != "new dropped finished" {
		t.Fatalf("events %v", kinds)
	}
	n := m.Events[0]
	if n["search"] != "alpha" || n["patent_pn"] != "A4" || n["title"] != "Design A4" || n["score"] == nil ||
		n["current_assignee"] != "ACME" || n["link"] != "https://worldwide.espacenet.com/patent/search?q=pn%3DA4" {
		t.Errorf("new event %v", n)
	}
	if f := m.Events[2]; f["report"] != "cn108977442b" || f["patent"] != "CN108977442B" || f["file"] != "reports/cn108977442b.pdf" {
		t.Errorf("finished event %v", f)
	}
	if st := h.state(); len(st.Outbox) != 0 || st.FormatVersion != 1 {
		t.Errorf("after delivery: %d messages in the outbox, format %d", len(st.Outbox), st.FormatVersion)
	}
	if len(rep.Notifications) != 1 || rep.Notifications[0].Status != report.NotificationDelivered || rep.Notifications[0].Delivered[0] != m.ID {
		t.Errorf("the change report's notifications: %+v", rep.Notifications)
	}
	if !strings.Contains(stderr, "notification delivered") {
		t.Errorf("no log of the delivery:\n%s", stderr)
	}

	// A run with nothing new sends nothing.
	if code, _, _ := h.apply(); code != exitOK || len(rcv.deliveries()) != 1 {
		t.Errorf("a quiet run: exit %d, %d deliveries", code, len(rcv.deliveries()))
	}
}

// TestNotifyReceiverDown: a receiver that fails the first deliveries makes
// the run that cannot deliver exit 1 with its message kept; the next run
// delivers it with the same id and body, and its own message too. No event
// is lost, and no id ever comes with two bodies.
func TestNotifyReceiverDown(t *testing.T) {
	h, rcv := notifyHarness(t)
	rcv.set(4, false) // the first run's three attempts fail, and the next run's first

	code, rep, stderr := h.apply()
	if code != exitError || !strings.Contains(stderr, "notification to hook failed") || !strings.Contains(stderr, "1 message kept in the state for the next run") {
		t.Fatalf("exit %d, want 1 and the failure named\n%s", code, stderr)
	}
	if alpha := searchByName(t, rep, "alpha"); len(alpha.New) != 1 || rep.Notifications[0].Status != report.NotificationFailed {
		t.Errorf("the run's report: %+v %+v", alpha, rep.Notifications)
	}
	st := h.state()
	if len(st.Outbox) != 1 || st.Outbox[0].Attempts != 1 || !strings.Contains(st.Outbox[0].LastError, "503") {
		t.Fatalf("outbox after the failed run: %+v", st.Outbox)
	}
	if _, ok := st.Searches["alpha"].Hits["A4"]; !ok {
		t.Error("the run's changes were not saved")
	}
	kept := st.Outbox[0].ID

	h.api.SetResults(imgA, -1, fakeHits("A1", "A4", "A2", "A5")...)
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("the next run: exit %d\n%s", code, stderr)
	}
	got := rcv.accepted()
	if len(got) != 2 || got[0].msg.ID != kept {
		t.Fatalf("accepted %d messages, want the kept one first and then the new one", len(got))
	}
	bodies := map[string]string{}
	for _, d := range rcv.deliveries() {
		checkSigned(t, d)
		if b, ok := bodies[d.msg.ID]; ok && b != string(d.body) {
			t.Errorf("id %s came with two bodies", d.msg.ID)
		}
		bodies[d.msg.ID] = string(d.body)
	}
	var pns []string
	for _, d := range got {
		for _, e := range d.msg.Events {
			if e["kind"] == "new" {
				pns = append(pns, e["patent_pn"].(string))
			}
		}
	}
	if strings.Join(pns, " ") != "A4 A5" {
		t.Errorf("new hits delivered: %v, want A4 then A5, each once", pns)
	}
	if len(h.state().Outbox) != 0 {
		t.Error("the outbox is not empty")
	}
}

// TestNotifyUnsetVariable: a channel whose url_env is unset keeps its
// messages, and the run exits 1 naming the variable; once it is set the
// next run sends them.
func TestNotifyUnsetVariable(t *testing.T) {
	h, rcv := notifyHarness(t)
	delete(h.envs, "PATWATCH_NOTIFY_HOOK")
	code, _, stderr := h.apply()
	if code != exitError || !strings.Contains(stderr, "PATWATCH_NOTIFY_HOOK is not set") || !strings.Contains(stderr, "hint: set PATWATCH_NOTIFY_HOOK") {
		t.Fatalf("exit %d, want 1 naming the variable\n%s", code, stderr)
	}
	if len(h.state().Outbox) != 1 {
		t.Fatal("the message was not kept")
	}
	h.envs["PATWATCH_NOTIFY_HOOK"] = rcv.url()
	if code, _, stderr := h.apply(); code != exitOK || len(rcv.accepted()) != 1 {
		t.Fatalf("exit %d, %d accepted\n%s", code, len(rcv.accepted()), stderr)
	}
}

// TestNotifyPlanSendsNothing: plan reads the API and composes nothing.
func TestNotifyPlanSendsNothing(t *testing.T) {
	h, rcv := notifyHarness(t)
	before := h.stateBytes()
	if code, _, stderr := h.report("plan"); code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	if len(rcv.deliveries()) != 0 || string(h.stateBytes()) != string(before) {
		t.Error("plan sent a notification or wrote the state")
	}
}

// TestNotifyKilledBeforeDelivery: a process killed after the save and
// before its channel accepted the message leaves the message in the state;
// the next run delivers exactly it, with the id and body it had.
func TestNotifyKilledBeforeDelivery(t *testing.T) {
	h, rcv := notifyHarness(t)
	rcv.set(0, true) // the receiver holds the delivery: the process is between save and acceptance
	cmd, stderr := h.startProcess("apply")
	<-rcv.arrivals
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the process was not killed")
	}
	held := rcv.deliveries()[0]
	st := h.state()
	if len(st.Outbox) != 1 || st.Outbox[0].ID != held.msg.ID {
		t.Fatalf("outbox after the kill: %+v (held %s)\n%s", st.Outbox, held.msg.ID, stderr.String())
	}
	if _, ok := st.Searches["alpha"].Hits["A4"]; !ok {
		t.Fatal("the changes were not saved with the message")
	}
	h.assertUnlocked()

	rcv.set(0, false)
	if code, _, errOut := h.apply(); code != exitOK {
		t.Fatalf("the next run: exit %d\n%s", code, errOut)
	}
	got := rcv.accepted()
	if len(got) != 1 || got[0].msg.ID != held.msg.ID || string(got[0].body) != string(held.body) {
		t.Fatalf("accepted %d messages; want exactly the held one, same id and body", len(got))
	}
	checkSigned(t, got[0])
	if len(h.state().Outbox) != 0 {
		t.Error("the outbox is not empty")
	}
}

// genericReceiver records what shoutrrr's generic:// service posts.
type genericReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []string
	ctyp []string
}

func newGenericReceiver(t *testing.T) *genericReceiver {
	g := &genericReceiver{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.got = append(g.got, string(b))
		g.ctyp = append(g.ctyp, r.Header.Get("Content-Type"))
		g.mu.Unlock()
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *genericReceiver) bodies() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.got...)
}

// smtpServer is a real SMTP server in the test process (go-smtp) that
// requires PLAIN authentication and records each mail.
type smtpServer struct {
	addr    string
	latency time.Duration // waited before a mail is accepted
	mu      sync.Mutex
	mail    []string
}

func newSMTPServer(t testing.TB) *smtpServer {
	s := &smtpServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback, no TLS in the test
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) mails() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.mail...)
}

type smtpSession struct {
	srv  *smtpServer
	auth bool
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "patwatch" || pass != smtpPass {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	time.Sleep(s.srv.latency)
	s.srv.mu.Lock()
	s.srv.mail = append(s.srv.mail, string(b))
	s.srv.mu.Unlock()
	return err
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// TestNotifyServicesEndToEnd: the same run reaches shoutrrr's generic://
// service on an HTTP server and its smtp:// service on a real SMTP server,
// each with the readable digest; a channel's filters choose its events.
func TestNotifyServicesEndToEnd(t *testing.T) {
	h, rcv := notifyHarness(t)
	gen := newGenericReceiver(t)
	mailSrv := newSMTPServer(t)
	h.envs["PATWATCH_NOTIFY_CHAT"] = "generic+" + gen.srv.URL + "/chat/" + hookToken
	h.envs["PATWATCH_NOTIFY_MAIL"] = "smtp://patwatch:" + smtpPass + "@" + mailSrv.addr + "/?from=patwatch@example.com&to=ip@example.com&usestarttls=no"
	h.writeSpec(notifySpec + `
  - name: chat
    url_env: PATWATCH_NOTIFY_CHAT
    on: [new]
  - name: mail
    url_env: PATWATCH_NOTIFY_MAIL
    on: [new, finished]
  - name: high-scores
    url_env: PATWATCH_NOTIFY_CHAT
    on: [new, dropped]
    min_score: 0.99
`)
	code, rep, stderr := h.apply("--log-level", "debug")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if len(rep.Notifications) != 4 {
		t.Errorf("notifications: %+v", rep.Notifications)
	}
	if len(rcv.accepted()) != 1 {
		t.Error("the webhook did not get its message")
	}

	// high-scores asks for new hits of 0.99 and up, and dropped ones: it
	// gets the dropped hit only, on the same receiver as chat.
	chat := gen.bodies()
	if len(chat) != 2 {
		t.Fatalf("the generic receiver got %d messages, want 2 (chat and high-scores)", len(chat))
	}
	var newOnly, dropOnly string
	for _, b := range chat {
		if strings.Contains(b, "+ A4") {
			newOnly = b
		} else {
			dropOnly = b
		}
	}
	if !strings.HasPrefix(newOnly, "patwatch: 1 new hit\n") || !strings.Contains(newOnly, "+ A4  Design A4\n  ACME · score ") ||
		!strings.Contains(newOnly, "https://worldwide.espacenet.com/patent/search?q=pn%3DA4") || strings.Contains(newOnly, "A3") {
		t.Errorf("chat's digest:\n%s", newOnly)
	}
	if !strings.HasPrefix(dropOnly, "patwatch: 1 dropped\n") || !strings.Contains(dropOnly, "- A3  Design A3") {
		t.Errorf("high-scores' digest:\n%s", dropOnly)
	}
	if gen.ctyp[0] != "text/plain" {
		t.Errorf("content type %q", gen.ctyp[0])
	}

	mails := mailSrv.mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	msg, err := mail.ReadMessage(strings.NewReader(mails[0]))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Subject"); got != "patwatch: 1 new hit, 1 report finished" {
		t.Errorf("subject %q", got)
	}
	// The digest as text, and the e-mail of the same events as the HTML
	// part, with the new hit's drawing as an inline part it refers to.
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/related" {
		t.Fatalf("mail is %q (%v), want multipart/related:\n%s", mediaType, err, mails[0])
	}
	if to, err := mail.ParseAddress(msg.Header.Get("To")); err != nil || to.Address != "ip@example.com" {
		t.Errorf("To %q", msg.Header.Get("To"))
	}
	parts, cids := readMailParts(msg.Body, params["boundary"])
	if text := parts["text/plain"]; !strings.Contains(text, "+ report cn108977442b (CN108977442B) finished: cn108977442b.pdf") ||
		!strings.Contains(text, "+ A4  Design A4") || strings.Contains(text, "reports/") {
		t.Errorf("the mail's text part:\n%s", text)
	}
	page := parts["text/html"]
	for _, want := range []string{"patwatch: what a run found", "A4", "Design A4", `src="cid:`,
		"https://worldwide.espacenet.com/patent/search?q=pn%3DA4", "cn108977442b", "1 new, 0 dropped."} {
		if !strings.Contains(page, want) {
			t.Errorf("the mail's HTML part lacks %q:\n%.3000s", want, page)
		}
	}
	for _, never := range []string{"A3", "<script", "https://images.test", "https://img.test", " hits", "in all", "data:", "reports/"} {
		if strings.Contains(page, never) {
			t.Errorf("the mail's HTML part holds %q, which the message does not tell:\n%s", never, page)
		}
	}
	if len(cids) == 0 {
		t.Error("the mail has no inline image")
	}
	for _, cid := range cids {
		if !strings.Contains(page, `src="cid:`+cid+`"`) {
			t.Errorf("inline part %s is not referred to", cid)
		}
	}
	assertNoSecrets(t, h, stderr)
}

// assertNoSecrets fails if a channel's token, key or password is in out or
// in the state file.
func assertNoSecrets(t *testing.T, h *harness, out ...string) {
	t.Helper()
	state, _ := os.ReadFile(h.path("patwatch.state.json"))
	all := strings.Join(append(out, string(state)), "\n")
	for _, s := range []string{hookToken, hookKey, smtpPass} {
		if strings.Contains(all, s) {
			t.Errorf("the secret %q is in the output or the state", s)
		}
	}
}

// TestNotifySecretsNeverInOutput: channels that fail in every way a URL can
// (refused, not found, a server that closes the connection) say why without
// their tokens, keys or passwords, in errors, logs, the change report and
// the state.
func TestNotifySecretsNeverInOutput(t *testing.T) {
	h, _ := notifyHarness(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	h.envs["PATWATCH_NOTIFY_HOOK"] = "http://" + deadAddr + "/hooks/" + hookToken + "?token=" + hookToken
	h.envs["PATWATCH_NOTIFY_CHAT"] = "generic+" + notFound.URL + "/chat/" + hookToken + "?@Authorization=Bearer%20" + hookToken
	h.envs["PATWATCH_NOTIFY_MAIL"] = "smtp://patwatch:" + smtpPass + "@" + deadAddr + "/?from=a@example.com&to=b@example.com"
	h.writeSpec(notifySpec + `
  - name: chat
    url_env: PATWATCH_NOTIFY_CHAT
  - name: mail
    url_env: PATWATCH_NOTIFY_MAIL
`)
	for _, format := range []string{"json", "text"} {
		code, stdout, stderr := h.run(context.Background(), "apply", "--format", format, "--log-level", "debug")
		if code != exitError || strings.Count(stderr, "patwatch: error: notification to ") != 3 {
			t.Fatalf("exit %d, want 1 with three failures\n%s", code, stderr)
		}
		for _, want := range []string{"refused", "404"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("the errors do not say %q:\n%s", want, stderr)
			}
		}
		assertNoSecrets(t, h, stdout, stderr)
	}
	code, stdout, stderr := h.run(context.Background(), "notify", "test", "-f", h.path("patwatch.yaml"), "--log-level", "debug")
	if code != exitError {
		t.Errorf("notify test: exit %d", code)
	}
	assertNoSecrets(t, h, stdout, stderr)
}

// TestNotifySandboxSaysSimulated: a sandbox run's messages say so.
func TestNotifySandboxSaysSimulated(t *testing.T) {
	h := newHarness(t, fake.Options{})
	rcv := newHookReceiver(t)
	gen := newGenericReceiver(t)
	h.envs = map[string]string{"PATWATCH_NOTIFY_HOOK": rcv.url(), "PATWATCH_NOTIFY_HOOK_KEY": hookKey, "CHAT": "generic+" + gen.srv.URL}
	data, err := os.ReadFile("../../examples/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h.writeSpec(string(data) + `
notify:
  - name: hook
    url_env: PATWATCH_NOTIFY_HOOK
    secret_env: PATWATCH_NOTIFY_HOOK_KEY
  - name: chat
    url_env: CHAT
`)
	for range 2 {
		if code, _, stderr := h.run(context.Background(), "apply", "--sandbox"); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	}
	got := rcv.accepted()
	if len(got) != 1 || !got[0].msg.Simulated {
		t.Fatalf("%d messages; want one marked simulated", len(got))
	}
	if b := gen.bodies(); len(b) != 1 || !strings.Contains(strings.SplitN(b[0], "\n", 2)[0], "simulated") {
		t.Errorf("the digest does not say it is simulated: %q", b)
	}
}

// TestNotifyTestCommand: notify test reports each channel, and exits 1 if
// any failed.
func TestNotifyTestCommand(t *testing.T) {
	h := newHarness(t, fake.Options{})
	rcv := newHookReceiver(t)
	gen := newGenericReceiver(t)
	h.envs["PATWATCH_NOTIFY_HOOK"] = rcv.url()
	h.envs["PATWATCH_NOTIFY_HOOK_KEY"] = hookKey
	h.envs["CHAT"] = "generic+" + gen.srv.URL
	h.writeSpec(notifySpec + `
  - name: chat
    url_env: CHAT
  - name: ops
    url_env: PATWATCH_NOTIFY_OPS
`)
	spec := h.path("patwatch.yaml")
	code, stdout, stderr := h.run(context.Background(), "notify", "test", "hook", "chat", "-f", spec)
	if code != exitOK || stdout != "hook: test message delivered\nchat: test message delivered\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	d := rcv.accepted()
	if len(d) != 1 || len(d[0].msg.Events) != 1 || d[0].msg.Events[0]["kind"] != "test" {
		t.Fatalf("the webhook got %+v", d)
	}
	checkSigned(t, d[0])
	if b := gen.bodies(); len(b) != 1 || !strings.HasPrefix(b[0], "patwatch: test message\n") {
		t.Errorf("the generic receiver got %q", b)
	}

	code, stdout, stderr = h.run(context.Background(), "notify", "test", "-f", spec)
	if code != exitError || !strings.Contains(stderr, "patwatch: error: ops: PATWATCH_NOTIFY_OPS is not set") ||
		!strings.Contains(stderr, "1 of 3 channels failed") || !strings.Contains(stdout, "chat: test message delivered") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = h.run(context.Background(), "notify", "test", "hok", "-f", spec)
	if code != exitError || !strings.Contains(stderr, "did you mean hook?") {
		t.Errorf("a mistyped name: exit %d\n%s", code, stderr)
	}
	if len(h.api.Requests()) != 0 {
		t.Error("notify test called the API")
	}
}

// TestValidateChecksChannelURLs: validate checks each URL it can see,
// located at its field, and only notes a variable that is not set. A url:
// it refuses makes the spec invalid for plan and apply too, with the same
// problem (issue 25.3.7: one verdict everywhere); a URL in the environment
// is checked once the spec loads.
func TestValidateChecksChannelURLs(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.envs = map[string]string{"BAD": "slak://hook:" + hookToken + "@webhook", "SLACK_HTTPS": "https://hooks.slack.com/services/T/B/" + hookToken}
	for _, literal := range []struct{ url, problem, hint string }{
		{"http://hooks.example.com/patwatch", "patwatch.yaml:6:10: notify[1].url: the URL is plain http:// to a host that is not loopback", "patwatch: hint: use https://"},
		{"https://hooks.example.com:99999/patwatch", "patwatch.yaml:6:10: notify[1].url: the URL has port 99999, which is not a port number (1 to 65535)", "patwatch: hint: write the receiver's port"},
	} {
		h.writeSpec(`
version: 1
notify:
  - name: unset
    url_env: PATWATCH_NOTIFY_UNSET
  - name: literal
    url: ` + literal.url + `
`)
		for _, cmd := range []string{"validate", "plan", "apply"} {
			code, stdout, stderr := h.run(context.Background(), cmd, "-f", h.path("patwatch.yaml"))
			if code != exitError || stdout != "" {
				t.Fatalf("%s: exit %d, stdout %q", cmd, code, stdout)
			}
			for _, want := range []string{literal.problem, literal.hint, "patwatch: error: 1 problem in"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("%s: stderr lacks %q:\n%s", cmd, want, stderr)
				}
			}
		}
	}
	if len(h.api.Requests()) != 0 {
		t.Error("a spec with a bad url: called the API")
	}

	h.writeSpec(`
version: 1
notify:
  - name: unset
    url_env: PATWATCH_NOTIFY_UNSET
  - name: literal
    url: https://hooks.example.com/patwatch
  - name: bad-env
    url_env: BAD
  - name: slack-as-webhook
    url_env: SLACK_HTTPS
`)
	code, stdout, stderr := h.run(context.Background(), "validate", "-f", h.path("patwatch.yaml"))
	if code != exitError || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{
		"patwatch: note: notify unset: PATWATCH_NOTIFY_UNSET is not set here, so its URL is not checked",
		"patwatch.yaml:8:14: notify[2].url_env: the URL in BAD has scheme slak://",
		"patwatch: hint: did you mean slack://?",
		"patwatch: note: notify slack-as-webhook: this is a Slack webhook: write it as slack://hook:",
		"patwatch: error: 1 problem in",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	assertNoSecrets(t, h, stderr)

	h.writeSpec(`
version: 1
notify:
  - name: unset
    url_env: PATWATCH_NOTIFY_UNSET
`)
	if code, stdout, stderr := h.run(context.Background(), "validate", "-f", h.path("patwatch.yaml")); code != exitOK || !strings.HasPrefix(stdout, "ok:") {
		t.Errorf("an unset variable alone: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestNotifyWatchSendsAfterEachRun: watch delivers after each run; a run
// whose delivery failed keeps its message for the next run without
// counting as a failed run (which would repeat the searches sooner).
func TestNotifyWatchSendsAfterEachRun(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	rcv := newHookReceiver(t)
	h.envs["PATWATCH_NOTIFY_HOOK"] = rcv.url()
	h.envs["PATWATCH_NOTIFY_HOOK_KEY"] = hookKey
	h.writeSpec(notifySpec)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3")...)
	reload := make(chan struct{}, 1)
	h.reload = func() (<-chan struct{}, func()) { return reload, func() {} }
	w := startWatch(t, h)
	w.waitRuns(1)

	h.api.SetResults(imgA, -1, fakeHits("A1", "A4", "A2")...)
	rcv.set(notify.DefaultAttempts, false) // every attempt of the next run fails
	reload <- struct{}{}
	runs := w.waitRuns(2)
	if n := runs[1].Notifications; len(n) != 1 || n[0].Status != report.NotificationFailed || len(n[0].Kept) != 1 {
		t.Fatalf("the second run's notifications: %+v", n)
	}
	waitFor(t, "the failure's log", func() bool { return strings.Contains(w.stderr.String(), "notification delivery failed") })
	if strings.Contains(w.stderr.String(), "retry_in\":\"30s") {
		t.Error("a failed delivery counted as a failed run")
	}
	kept := h.state().Outbox
	if len(kept) != 1 || len(rcv.accepted()) != 0 {
		t.Fatalf("outbox %d, accepted %d", len(kept), len(rcv.accepted()))
	}

	reload <- struct{}{}
	w.waitRuns(3)
	if got := rcv.accepted(); len(got) != 1 || got[0].msg.ID != kept[0].ID {
		t.Fatalf("accepted %d messages after the third run, want the kept one", len(got))
	}
	if code := w.stop(); code != exitOK {
		t.Errorf("exit %d", code)
	}
}
