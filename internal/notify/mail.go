package notify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/email/smtp"
	mail "github.com/wneessen/go-mail"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/state"
)

// An smtp:// channel is sent by patwatch's own mail writer (go-mail), not
// by shoutrrr, whose smtp service writes a multipart/alternative of raw
// 8-bit parts that cannot carry inline images and whose send cannot be
// cancelled. The URL keeps shoutrrr's form: shoutrrr's own parser reads
// it, so that every option shoutrrr documents for smtp:// (from,
// fromname, to, subject, auth, encryption, usestarttls, requirestarttls,
// skiptlsverify, clienthost, timeout, usehtml) means what it says there.
//
// The message: a From with a display name ("patwatch" unless fromname
// says otherwise), every recipient in To, a Message-ID made of the
// message's id (a message sent again has the same one), the digest as
// its text part and, when pages gives one, the e-mail's HTML part with
// its pictures as inline parts (multipart/related, each referred to by
// cid:). Every part is quoted-printable or base64: no line is longer than
// mail servers allow and no control character reaches SMTP's DATA as it
// is.

// DefaultFromName is the display name of an e-mail's From when the URL
// gives none (fromname).
const DefaultFromName = "patwatch"

// mailConfig reads an smtp:// URL with shoutrrr's parser.
func mailConfig(raw string) (*smtp.Config, error) {
	var r router.ServiceRouter
	svc, err := r.Locate(raw)
	if err != nil {
		return nil, err
	}
	s, ok := svc.(*smtp.Service)
	if !ok {
		return nil, fmt.Errorf("not an smtp:// URL")
	}
	cfg := s.Config.Clone()
	cfg.FixEmailTags()
	return &cfg, nil
}

// mailSender sends smtp:// URLs' e-mails with patwatch's mail writer.
type mailSender struct{}

func init() { register(mailSender{}, "smtp") }

func (mailSender) send(ctx context.Context, n *Notifier, t *target, m *state.Message, pages Pages) error {
	return n.sendMail(ctx, t, m, pages)
}

// sendMail makes one delivery of m by e-mail, bounded by ctx: when ctx
// ends, every connection the attempt opened is closed, and none outlives
// it in any case.
func (n *Notifier) sendMail(ctx context.Context, t *target, m *state.Message, pages Pages) error {
	cfg, err := mailConfig(t.url)
	if err != nil {
		return &attemptError{err: fmt.Errorf("the URL is not one patwatch can read as smtp:// (%s)", scrub(err.Error(), t.secrets)), retry: false}
	}
	msg, err := n.composeMail(cfg, m, pages, queryKeys(t.url))
	if err != nil {
		return &attemptError{err: fmt.Errorf("smtp: %w", err), retry: false}
	}
	if n.sendMessage != nil {
		return n.sendMessage(ctx, msg)
	}
	return dialAndSend(ctx, cfg, msg)
}

// composeMail builds the e-mail of m. query holds the URL's query keys,
// lower-case: a subject the URL sets replaces the digest's tally.
func (n *Notifier) composeMail(cfg *smtp.Config, m *state.Message, pages Pages, query map[string]bool) (*mail.Msg, error) {
	subject, text := Digest(m, n.DigestLimit)
	text += "\nmessage id " + m.ID + "\n"
	if query["subject"] || query["title"] {
		subject = cfg.Subject
	}
	msg := mail.NewMsg(mail.WithEncoding(mail.EncodingQP), mail.WithCharset(mail.CharsetUTF8), mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(headerText(cmp.Or(cfg.FromName, DefaultFromName)), cfg.FromAddress); err != nil {
		return nil, fmt.Errorf("the from address: %w", err)
	}
	if err := msg.To(cfg.ToAddresses...); err != nil {
		return nil, fmt.Errorf("a to address: %w", err)
	}
	msg.Subject(headerText(subject))
	msg.SetMessageIDWithValue(messageIDHeader(m.ID, cfg.FromAddress))
	msg.SetDateWithValue(n.now())
	if n.UserAgent != "" {
		msg.SetUserAgent(n.UserAgent)
	}
	msg.SetBodyString(mail.TypeTextPlain, text)

	var page *report.Email
	if pages != nil {
		page = pages(m)
	}
	switch {
	case page != nil:
		msg.AddAlternativeString(mail.TypeTextHTML, page.HTML)
		for _, img := range page.Images {
			err := msg.EmbedReader(img.Name, strings.NewReader(string(img.Data)),
				mail.WithFileContentID(img.CID), mail.WithFileContentType(mail.ContentType(img.MediaType)))
			if err != nil {
				return nil, fmt.Errorf("an inline image: %w", err)
			}
		}
	case cfg.UseHTML:
		// The URL asks for HTML and there is no page: the digest, escaped.
		msg.AddAlternativeString(mail.TypeTextHTML, "<pre>"+html.EscapeString(text)+"</pre>")
	}
	return msg, nil
}

// messageIDHeader is the Message-ID of the message whose id is id: the
// same for every send of it, so that a mail client that drops duplicates
// by Message-ID drops a message sent again.
func messageIDHeader(id, from string) string {
	sum := sha256.Sum256([]byte(id))
	domain := "patwatch.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" && !strings.ContainsAny(d, "<>\" \t\r\n") {
		domain = d
	}
	return hex.EncodeToString(sum[:16]) + ".patwatch@" + domain
}

// headerText is s fit for a header: control characters become spaces.
func headerText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// dialAndSend sends msg through the server cfg names, as shoutrrr would
// have: implicit TLS when encryption says so (or Auto on port 465),
// STARTTLS when the server offers it and usestarttls is on (required with
// requirestarttls), the auth shoutrrr's URL asks for, each SMTP command
// bounded by cfg.Timeout and the whole by ctx.
func dialAndSend(ctx context.Context, cfg *smtp.Config, msg *mail.Msg) error {
	conns := &connSet{}
	stop := context.AfterFunc(ctx, conns.closeAll)
	defer stop()
	defer conns.closeAll()

	tlsConfig := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.SkipTLSVerify} // the URL's skiptlsverify, as shoutrrr reads it
	implicit := cfg.Encryption == smtp.EncMethods.ImplicitTLS || cfg.Encryption == smtp.EncMethods.Auto && cfg.Port == smtp.ImplicitTLSPort
	policy := mail.NoTLS
	switch {
	case implicit:
	case cfg.UseStartTLS && cfg.RequireStartTLS:
		policy = mail.TLSMandatory
	case cfg.UseStartTLS:
		policy = mail.TLSOpportunistic
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = smtp.DefaultTimeout * time.Second
	}
	opts := []mail.Option{
		mail.WithPort(int(cfg.Port)), mail.WithTimeout(timeout),
		mail.WithHELO(helo(cfg.ClientHost)), mail.WithTLSPolicy(policy), mail.WithTLSConfig(tlsConfig),
		mail.WithDialContextFunc(conns.dialer(tlsConfig, implicit)),
	}
	if implicit {
		opts = append(opts, mail.WithSSL())
	}
	auth, err := mailAuth(cfg)
	if err != nil {
		return &attemptError{err: err, retry: false}
	}
	opts = append(opts, auth...)
	client, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return &attemptError{err: fmt.Errorf("smtp: %w", err), retry: false}
	}
	err = client.DialAndSendWithContext(ctx, msg)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return &attemptError{err: errors.New("smtp: no answer in time"), retry: true}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &attemptError{err: fmt.Errorf("smtp: the server did not answer within %s (the URL's timeout for each command)", timeout), retry: true}
	}
	return &attemptError{err: fmt.Errorf("smtp: %w", err), retry: !permanent(err)}
}

// helo is the name the client gives in EHLO: the URL's clienthost,
// "auto" for this machine's name, as shoutrrr does.
func helo(clientHost string) string {
	if clientHost != "auto" {
		return cmp.Or(clientHost, "localhost")
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "localhost"
}

// mailAuth is the SMTP AUTH of the URL's auth option (shoutrrr resolves
// Unknown to Plain with a user name, None without).
func mailAuth(cfg *smtp.Config) ([]mail.Option, error) {
	creds := []mail.Option{mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password)}
	switch cfg.Auth {
	case smtp.AuthTypes.None:
		return nil, nil
	case smtp.AuthTypes.Plain:
		return append(creds, mail.WithSMTPAuth(mail.SMTPAuthPlain)), nil
	case smtp.AuthTypes.CRAMMD5:
		return append(creds, mail.WithSMTPAuth(mail.SMTPAuthCramMD5)), nil
	case smtp.AuthTypes.OAuth2:
		return append(creds, mail.WithSMTPAuth(mail.SMTPAuthXOAUTH2)), nil
	}
	return nil, fmt.Errorf("smtp: the URL's auth %s is not one patwatch can use (None, Plain, CRAMMD5 or OAuth2)", cfg.Auth)
}

// permanent reports whether err holds an SMTP reply of the 5xx class,
// which a server gives again when asked again (a refused login, an
// unknown mailbox): not worth another attempt within the run.
func permanent(err error) bool {
	var se *mail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 {
		return true
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500
}

// connSet is the connections of one attempt, closed together when it
// ends however it ends: go-mail leaves a connection open when the
// greeting or EHLO fails, and a send that ctx ends must not wait for a
// server that does not answer.
type connSet struct {
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

// dialer dials as go-mail would (TLS from the start when implicit), and
// keeps each connection to close it.
func (s *connSet) dialer(tlsConfig *tls.Config, implicit bool) mail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if !s.add(raw) {
			return nil, errors.New("the attempt ended")
		}
		if !implicit {
			return raw, nil
		}
		// go-mail learns that the connection is encrypted from its type:
		// the *tls.Conn itself goes back, its socket is kept to close.
		conn := tls.Client(raw, tlsConfig)
		if err := conn.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return conn, nil
	}
}

func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.conns = append(s.conns, c)
	return true
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}
