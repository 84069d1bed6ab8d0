package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"io"
	"maps"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"github.com/patwatch/patwatch/internal/notify/notifytest"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

const mailPass = "m41l-p4ss-w0rd-secret"

// mailServer is a real SMTP server in the test process (go-smtp) that
// requires PLAIN authentication, records each mail as it arrived and the
// raw bytes each connection sent, and whether the session was encrypted.
type mailServer struct {
	addr string
	mu   sync.Mutex
	mail []string
	raw  []*bytes.Buffer // what each connection sent, byte for byte
	tls  []bool          // per MAIL command: whether the session was encrypted
	auth int             // AUTH attempts
}

// newMailServer starts a server on loopback: plain text with STARTTLS
// offered when cfg is set, or TLS from the first byte when implicit.
func newMailServer(t *testing.T, cfg *tls.Config, implicit bool) *mailServer {
	t.Helper()
	s := &mailServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &mailSession{srv: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.TLSConfig = cfg
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	var ln net.Listener = &recordingListener{Listener: l, srv: s}
	if implicit {
		ln = tls.NewListener(ln, cfg)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *mailServer) mails() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mail)
}

// sessions says, for each MAIL command, whether its session was
// encrypted; logins counts the AUTH attempts.
func (s *mailServer) sessions() (encrypted []bool, logins int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tls), s.auth
}

// wire is what connection i sent, byte for byte.
func (s *mailServer) wire(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw[i].String()
}

type recordingListener struct {
	net.Listener
	srv *mailServer
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	buf := &bytes.Buffer{}
	l.srv.mu.Lock()
	l.srv.raw = append(l.srv.raw, buf)
	l.srv.mu.Unlock()
	return &recordingConn{Conn: c, srv: l.srv, buf: buf}, nil
}

type recordingConn struct {
	net.Conn
	srv *mailServer
	buf *bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.srv.mu.Lock()
	c.buf.Write(p[:n])
	c.srv.mu.Unlock()
	return n, err
}

type mailSession struct {
	srv    *mailServer
	conn   *smtp.Conn
	authed bool
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.srv.mu.Lock()
		s.srv.auth++
		s.srv.mu.Unlock()
		if user != "patwatch" || pass != mailPass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *mailSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	_, encrypted := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.tls = append(s.srv.tls, encrypted)
	s.srv.mu.Unlock()
	return nil
}
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.srv.mu.Lock()
	s.srv.mail = append(s.srv.mail, string(b))
	s.srv.mu.Unlock()
	return err
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

// selfSigned is a certificate for 127.0.0.1 that no one signed: URLs
// reach it with skiptlsverify=yes.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// drawingPNG is a w×h PNG of one colour, as a thumbnail is.
func drawingPNG(t *testing.T, w, h int, c color.Color) *report.Image {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		img.Set(i%w, i/w, c)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return &report.Image{MediaType: "image/png", Data: buf.Bytes()}
}

// emailPages renders each message's e-mail as the runner does: its
// events' report, the query image also a hit's drawing (the e-mail holds
// it once), another hit's drawing of its own.
func emailPages(t *testing.T) Pages {
	shared, own := drawingPNG(t, 64, 48, color.Black), drawingPNG(t, 40, 60, color.White)
	return func(m *state.Message) *report.Email {
		rep := &report.ChangeReport{Command: "apply", GeneratedAt: m.GeneratedAt, Spec: m.Spec, PatwatchVersion: "test"}
		page := &report.Page{Notification: true, Queries: map[string]report.Query{}, Drawings: map[string]map[string]report.Picture{}}
		for _, e := range m.Events {
			if e.Kind != KindNew {
				continue
			}
			if len(rep.Searches) == 0 {
				rep.Searches = append(rep.Searches, report.SearchChange{Name: e.Search, Status: report.StatusOK})
				page.Queries[e.Search] = report.Query{Line: "design (D), model 1", Images: []report.QueryImage{{Name: "q.png", Picture: report.Picture{Image: shared}}}}
				page.Drawings[e.Search] = map[string]report.Picture{}
			}
			rep.Searches[0].New = append(rep.Searches[0].New, report.HitChange{PatentPN: e.PatentPN, Title: e.Title, Score: e.Score, Link: e.Link})
			pic := own
			if len(page.Drawings[e.Search]) == 0 {
				pic = shared
			}
			page.Drawings[e.Search][e.PatentPN] = report.Picture{Image: pic}
		}
		rep.Finish()
		e, err := report.RenderEmail(rep, page)
		if err != nil {
			t.Error(err)
		}
		return e
	}
}

// mailMessage is a message with two new hits and a finished report whose
// file is a path on the machine that ran patwatch.
func mailMessage() *state.Message {
	return &state.Message{ID: "4f6f1c2e:12:mail:3442a1c48bed", Channel: "mail", GeneratedAt: runTime, Spec: "/home/ip/watch/patwatch.yaml",
		Events: []state.Event{
			{Kind: KindNew, Search: "phones", PatentPN: "EU0065350760001S", Title: "Mobile phones", Score: 0.888,
				Link: "https://worldwide.espacenet.com/patent/search?q=pn%3DEU0065350760001S"},
			{Kind: KindNew, Search: "phones", PatentPN: "CN305104902S", Title: "相机镜头", Score: 0.6},
			{Kind: KindFinished, Report: "cn108977442b", Patent: "CN108977442B", File: "/home/ip/watch/reports/cn108977442b.pdf"},
		}}
}

// part is one leaf of a parsed message: its content type, its headers and
// its decoded body.
type part struct {
	mediaType string
	header    map[string]string
	body      string
}

// parseMail parses raw as a MIME message, leaves in order, and the tree's
// shape: "multipart/related(multipart/alternative(text/plain,text/html),image/png)".
func parseMail(t *testing.T, raw string) (*mail.Message, []part, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var leaves []part
	var walk func(ct, cte string, h map[string]string, body io.Reader) string
	walk = func(ct, cte string, h map[string]string, body io.Reader) string {
		mediaType, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if !strings.HasPrefix(mediaType, "multipart/") {
			switch cte {
			case "quoted-printable":
				body = quotedprintable.NewReader(body)
			case "base64":
				body = base64.NewDecoder(base64.StdEncoding, body)
			}
			b, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			if strings.HasPrefix(mediaType, "text/") { // a text part's lines end CRLF in MIME
				text = strings.ReplaceAll(text, "\r\n", "\n")
			}
			leaves = append(leaves, part{mediaType: mediaType, header: h, body: text})
			if cte != "quoted-printable" && cte != "base64" {
				t.Errorf("a %s part is sent as %q, not quoted-printable or base64", mediaType, cte)
			}
			return mediaType
		}
		var kids []string
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			h := map[string]string{}
			for k := range p.Header {
				h[k] = p.Header.Get(k)
			}
			kids = append(kids, walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), h, p))
		}
		return mediaType + "(" + strings.Join(kids, ",") + ")"
	}
	shape := walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), nil, msg.Body)
	return msg, leaves, shape
}

func deliverMail(t *testing.T, n *Notifier, url string, pages Pages, msgs ...*state.Message) *Outcome {
	t.Helper()
	n.Getenv = func(k string) string { return map[string]string{"MAIL": url}[k] }
	return n.Deliver(context.Background(), []spec.Channel{{Name: msgs[0].Channel, URLEnv: "MAIL", On: spec.EventKinds}}, msgs, pages)
}

// TestEmailOnARealServer: an smtp:// channel gets a message built for mail
// clients, over SMTP AUTH: multipart/related around the text and HTML
// alternatives and one inline part per distinct picture, every cid: of
// the HTML a part and every part referred to, no data: image, every part
// quoted-printable or base64, a From with a display name, a Message-ID
// that is the same when the message is sent again, and no path of the
// machine that ran patwatch in either part.
func TestEmailOnARealServer(t *testing.T) {
	srv := newMailServer(t, nil, false)
	n := testNotifier(nil, nil, nil)
	url := "smtp://patwatch:" + mailPass + "@" + srv.addr + "/?from=alerts@example.com&to=ip@example.com,legal@example.com&usestarttls=no"
	m := mailMessage()
	for range 2 {
		if out := deliverMail(t, n, url, emailPages(t), m); out.Err() != nil || len(out.Outbox) != 0 {
			t.Fatalf("err %v, outbox %d", out.Err(), len(out.Outbox))
		}
	}
	mails := srv.mails()
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	msg, leaves, shape := parseMail(t, mails[0])
	if want := "multipart/related(multipart/alternative(text/plain,text/html),image/png,image/png)"; shape != want {
		t.Errorf("the message is %s, want %s", shape, want)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil || from.Name != "patwatch" || from.Address != "alerts@example.com" {
		t.Errorf("From %q (%v), want the display name patwatch", msg.Header.Get("From"), err)
	}
	if to := msg.Header.Get("To"); !strings.Contains(to, "ip@example.com") || !strings.Contains(to, "legal@example.com") {
		t.Errorf("To %q", to)
	}
	if got := msg.Header.Get("Subject"); got != "patwatch: 2 new hits, 1 report finished" {
		t.Errorf("Subject %q", got)
	}
	id := msg.Header.Get("Message-Id")
	if !regexp.MustCompile(`^<[0-9a-f]{32}\.patwatch@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID %q", id)
	}
	again, _, _ := parseMail(t, mails[1])
	if got := again.Header.Get("Message-Id"); got != id {
		t.Errorf("the message sent again has Message-ID %q, first %q", got, id)
	}

	text, page := leaves[0].body, leaves[1].body
	if !strings.Contains(text, "+ EU0065350760001S  Mobile phones") || !strings.Contains(text, "finished: cn108977442b.pdf") ||
		!strings.Contains(text, "message id "+m.ID) {
		t.Errorf("the text part:\n%s", text)
	}
	for _, part := range []string{text, page} {
		if strings.Contains(part, "/home/ip") || strings.Contains(part, "reports/") {
			t.Errorf("a part names a path on the machine that ran patwatch:\n%s", part)
		}
	}
	if strings.Contains(page, "data:") {
		t.Error("the HTML part holds a data: URI")
	}
	referred := map[string]bool{}
	for _, m := range regexp.MustCompile(`src="cid:([^"]+)"`).FindAllStringSubmatch(page, -1) {
		referred[m[1]] = true
	}
	parts := map[string]bool{}
	for _, l := range leaves[2:] {
		cid := strings.Trim(l.header["Content-Id"], "<>")
		if parts[cid] || !strings.HasPrefix(l.header["Content-Disposition"], "inline") {
			t.Errorf("inline part %s: twice, or not inline (%q)", cid, l.header["Content-Disposition"])
		}
		parts[cid] = true
		if _, err := png.Decode(strings.NewReader(l.body)); err != nil {
			t.Errorf("inline part %s is no PNG: %v", cid, err)
		}
	}
	if len(referred) != 2 || !maps.Equal(referred, parts) {
		t.Errorf("the HTML refers to %v, the parts are %v", referred, parts)
	}
	if enc, _ := srv.sessions(); enc[0] {
		t.Error("usestarttls=no, and the session was encrypted")
	}
}

// TestEmailHoldsNoSmuggling: text from the API with CR, LF and the end of
// DATA in it (the SMTP-smuggling pattern, <CR>.<CR><LF> then MAIL FROM)
// reaches the server as one message: on the wire every line ends CRLF,
// no CR stands alone, DATA ends once, and neither part holds a control
// character as it was.
func TestEmailHoldsNoSmuggling(t *testing.T) {
	srv := newMailServer(t, nil, false)
	url := "smtp://patwatch:" + mailPass + "@" + srv.addr + "/?from=a@example.com&to=b@example.com&usestarttls=no"
	m := mailMessage()
	evil := "Chair\r.\r\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n\rend\x00\x1b[2J"
	m.Events[0].Title, m.Events[1].Title = evil, evil
	if out := deliverMail(t, testNotifier(nil, nil, nil), url, emailPages(t), m); out.Err() != nil {
		t.Fatal(out.Err())
	}
	if enc, _ := srv.sessions(); len(enc) != 1 {
		t.Fatalf("the server was given %d MAIL commands, want 1", len(enc))
	}
	wire := srv.wire(0)
	if i := regexp.MustCompile(`\r[^\n]|[^\r]\n`).FindStringIndex(wire); i != nil {
		t.Errorf("a bare CR or LF on the wire: %q", wire[max(0, i[0]-40):min(len(wire), i[1]+40)])
	}
	if n := strings.Count(wire, "\r\n.\r\n"); n != 1 {
		t.Errorf("DATA ends %d times on the wire, want once", n)
	}
	if n := strings.Count(strings.ToUpper(wire), "\r\nMAIL FROM:"); n != 1 {
		t.Errorf("%d MAIL FROM lines on the wire, want 1", n)
	}
	for _, line := range strings.Split(wire, "\r\n") {
		if len(line) > 998 {
			t.Errorf("a line of %d bytes", len(line))
		}
	}
	for _, h := range []string{"Content-Transfer-Encoding: quoted-printable", "Content-Transfer-Encoding: base64"} {
		if !strings.Contains(wire, h) {
			t.Errorf("no part is sent with %s", h)
		}
	}
	_, leaves, _ := parseMail(t, srv.mails()[0])
	for _, l := range leaves[:2] {
		if strings.ContainsAny(l.body, "\x00\x1b\r") {
			t.Errorf("the %s part holds a control character as it was:\n%q", l.mediaType, l.body)
		}
		if !strings.Contains(l.body, `Chair\r.\r\nMAIL FROM:`) && !strings.Contains(l.body, `Chair\r.\r\nMAIL FROM:&lt;`) {
			t.Errorf("the %s part does not show the title with its control characters escaped:\n%s", l.mediaType, l.body)
		}
	}
}

// TestEmailSubjectAndParts: the digest's first line is the subject unless
// the URL sets one; without an e-mail page the message is the text alone,
// or with usehtml the digest escaped as its HTML part; with one, the page
// verbatim.
func TestEmailSubjectAndParts(t *testing.T) {
	const base = "smtp://u:pw@mail.example.com:587/?from=patwatch@example.com&to=ip@example.com"
	m := digestMessage()
	subject, digest := Digest(m, DigestLimit)
	written := func(url string, pages Pages) (*mail.Message, []part, string) {
		t.Helper()
		n := testNotifier(nil, nil, nil)
		var raw bytes.Buffer
		n.sendMessage = func(_ context.Context, msg *gomail.Msg) error { _, err := msg.WriteTo(&raw); return err }
		if out := deliverMail(t, n, url, pages, m); out.Err() != nil {
			t.Fatal(out.Err())
		}
		return parseMail(t, raw.String())
	}

	msg, leaves, shape := written(base, nil)
	if msg.Header.Get("Subject") != subject || shape != "text/plain" || !strings.HasPrefix(leaves[0].body, digest) {
		t.Errorf("subject %q, shape %s", msg.Header.Get("Subject"), shape)
	}
	_, leaves, shape = written(base, func(*state.Message) *report.Email { return &report.Email{HTML: "<p>{{not an action}}</p>"} })
	if shape != "multipart/alternative(text/plain,text/html)" || leaves[1].body != "<p>{{not an action}}</p>" {
		t.Errorf("shape %s, HTML part %q", shape, leaves[1].body)
	}
	m.Events[0].Title = "<script>x</script>"
	_, leaves, shape = written(base+"&usehtml=yes", nil)
	if shape != "multipart/alternative(text/plain,text/html)" || strings.Contains(leaves[1].body, "<script>") || !strings.HasPrefix(leaves[1].body, "<pre>") {
		t.Errorf("shape %s, HTML part %q", shape, leaves[1].body)
	}
	msg, _, _ = written(base+"&subject=Patents%0D%0ABcc:%20x@evil.example&fromname=IP%20team", nil)
	if got := msg.Header.Get("Subject"); got != "Patents  Bcc: x@evil.example" || msg.Header.Get("Bcc") != "" {
		t.Errorf("subject %q, Bcc %q", got, msg.Header.Get("Bcc"))
	}
	if from, err := mail.ParseAddress(msg.Header.Get("From")); err != nil || from.Name != "IP team" {
		t.Errorf("From %q", msg.Header.Get("From"))
	}
}

// TestEmailTLS: STARTTLS when the URL requires it, and TLS from the first
// byte (encryption=ImplicitTLS), both with SMTP AUTH inside.
func TestEmailTLS(t *testing.T) {
	for _, tc := range []struct {
		name     string
		implicit bool
		query    string
	}{
		{"starttls", false, "&requirestarttls=yes&skiptlsverify=yes"},
		{"implicit", true, "&encryption=ImplicitTLS&skiptlsverify=yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMailServer(t, selfSigned(t), tc.implicit)
			url := "smtp://patwatch:" + mailPass + "@" + srv.addr + "/?from=a@example.com&to=b@example.com" + tc.query
			if out := deliverMail(t, testNotifier(nil, nil, nil), url, nil, mailMessage()); out.Err() != nil {
				t.Fatal(out.Err())
			}
			if enc, _ := srv.sessions(); len(enc) != 1 || !enc[0] {
				t.Errorf("sessions encrypted: %v, want one, encrypted", enc)
			}
		})
	}
	// A server that offers no STARTTLS is refused when the URL requires it.
	srv := newMailServer(t, nil, false)
	url := "smtp://patwatch:" + mailPass + "@" + srv.addr + "/?from=a@example.com&to=b@example.com&requirestarttls=yes"
	if out := deliverMail(t, testNotifier(nil, nil, nil), url, nil, mailMessage()); out.Err() == nil || len(srv.mails()) != 0 {
		t.Errorf("err %v, %d mails; want the message kept", out.Err(), len(srv.mails()))
	}
}

// TestEmailRefusedLoginIsNotRetried: a 5xx answer (a wrong password) is
// the same the next time: one attempt, the message kept, no password in
// the error.
func TestEmailRefusedLoginIsNotRetried(t *testing.T) {
	srv := newMailServer(t, nil, false)
	url := "smtp://patwatch:wrong-" + mailPass + "@" + srv.addr + "/?from=a@example.com&to=b@example.com&usestarttls=no"
	out := deliverMail(t, testNotifier(nil, nil, nil), url, nil, mailMessage())
	if _, logins := srv.sessions(); out.Err() == nil || len(out.Outbox) != 1 || logins != 1 {
		t.Errorf("err %v, outbox %d, %d logins; want one login and the message kept", out.Err(), len(out.Outbox), logins)
	}
	if strings.Contains(out.Err().Error(), mailPass) {
		t.Errorf("the error holds the password: %v", out.Err())
	}
}

// TestEmailTarpitIsBounded (issue 25.3.2): a server that accepts and never
// answers holds a delivery only until its deadline, even when the URL
// gives each SMTP command an hour; the message stays in the outbox with
// the deadline as its error, and no connection outlives the delivery.
func TestEmailTarpitIsBounded(t *testing.T) {
	tp := notifytest.NewTarpit(t)
	n := testNotifier(nil, nil, nil)
	n.Deadline = 300 * time.Millisecond
	url := "smtp://" + tp.Addr + "/?from=a@example.com&to=b@example.com&timeout=1h"
	done := make(chan *Outcome, 1)
	go func() { done <- deliverMail(t, n, url, nil, mailMessage(), message("later", "mail")) }()
	var out *Outcome
	select {
	case out = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the delivery to a tarpit did not end at its deadline of 300ms")
	}
	if len(out.Outbox) != 2 || out.Outbox[0].Attempts != 1 || !strings.Contains(out.Outbox[0].LastError, "the delivery's deadline of 300ms passed") {
		t.Fatalf("outbox %+v; want both messages kept, the first with the deadline as its error", out.Outbox)
	}
	if err := out.Err(); err == nil || !strings.Contains(err.Error(), "the delivery's deadline of 300ms passed") {
		t.Errorf("the channel's error does not name the deadline: %v", err)
	}
	if accepted, open, err := tp.Sockets(5 * time.Second); err != nil || accepted == 0 || open != 0 {
		t.Errorf("%d connections accepted, %d still open after the delivery (%v)", accepted, open, err)
	}
}
