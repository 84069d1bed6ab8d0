package spec

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/suggest"
)

// ShoutrrrDocs is where shoutrrr documents the URL format of each service.
const ShoutrrrDocs = "https://shoutrrr.nickfedor.com/services/overview/"

// URLError is a channel URL patwatch cannot send to. It never holds the URL
// or a part of it; it reads after "the URL ".
type URLError struct {
	Reason string
	hint   string
}

func (e *URLError) Error() string { return e.Reason }

// Hint says what would be right.
func (e *URLError) Hint() string { return e.hint }

// CheckChannelURL is the one rule for a notification channel's URL, which
// the loader applies to every url: and the notifier to a URL from the
// environment before it sends, so that what validate refuses no run tries.
// A scheme with a rule of its own (RegisterChannelScheme) is checked by it:
// this file's for webhooks, an https:// URL or an http:// one to a loopback
// address; a sender file's of internal/notify for the scheme it brings. Any
// other scheme must be a shoutrrr service whose URL shoutrrr can read. A
// port, when given, is a number from 1 to 65535. It sends nothing; webhook
// says the URL is a webhook's. A failure is a *URLError.
func CheckChannelURL(raw string) (webhook bool, err error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return false, &URLError{Reason: "is not a URL", hint: "write an https:// webhook, or a service URL such as slack://… or smtp://… (" + ShoutrrrDocs + ")"}
	case u.Scheme == "":
		return false, &URLError{Reason: "has no scheme", hint: "write an https:// webhook, or a service URL such as slack://… or smtp://… (" + ShoutrrrDocs + ")"}
	}
	scheme := strings.ToLower(u.Scheme)
	if check, ok := channelSchemes[scheme]; ok {
		err = asURLError(check(u))
	} else {
		err = checkService(raw, scheme)
	}
	if err != nil {
		return false, err
	}
	if err := checkPort(u.Port()); err != nil {
		return false, err
	}
	return isWebhook(scheme), nil
}

// channelSchemes holds the rule of each scheme that is not a shoutrrr
// service, by lower-case scheme. Only RegisterChannelScheme writes it, from
// init functions: once main runs it is only read.
var channelSchemes = map[string]func(*url.URL) error{}

// RegisterChannelScheme makes check the rule CheckChannelURL applies to
// URLs of scheme (case-insensitive), a scheme shoutrrr has no service for:
// the file of internal/notify that sends such URLs calls it from its init,
// so that validate, the loader and delivery apply the same rule. check gets
// the parsed URL; its error reads after "the URL " and never quotes the URL
// or a part of it, and its hints (internal/hint) become the *URLError's.
// The port is checked after it, as for every URL. RegisterChannelScheme
// panics when scheme is empty, already has a rule, or is (or, before a
// "+", names) a shoutrrr service: a scheme has one meaning.
func RegisterChannelScheme(scheme string, check func(*url.URL) error) {
	scheme = strings.ToLower(scheme)
	head := strings.SplitN(scheme, "+", 2)[0]
	var r router.ServiceRouter
	switch _, err := r.NewService(head); {
	case scheme == "" || check == nil:
		panic("spec: RegisterChannelScheme needs a scheme and its check")
	case channelSchemes[scheme] != nil:
		panic("spec: channel scheme " + scheme + " registered twice")
	case err == nil:
		panic("spec: channel scheme " + scheme + " is shoutrrr's service " + head)
	}
	channelSchemes[scheme] = check
}

// asURLError is err as a *URLError: itself when it is one, else its text
// as the reason and its hints as the hint.
func asURLError(err error) error {
	var ue *URLError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue):
		return ue
	}
	return &URLError{Reason: err.Error(), hint: strings.Join(hint.Of(err), "; ")}
}

// isWebhook reports whether scheme, lower-case, is a webhook's.
func isWebhook(scheme string) bool { return scheme == "https" || scheme == "http" }

// Webhooks: https:// to any host, plain http:// only to this machine.
func init() {
	RegisterChannelScheme("https", checkHTTPS)
	RegisterChannelScheme("http", checkLoopbackHTTP)
}

func checkHTTPS(u *url.URL) error {
	if u.Host == "" {
		return &URLError{Reason: "has no host"}
	}
	return nil
}

func checkLoopbackHTTP(u *url.URL) error {
	if !IsLoopbackHost(u.Hostname()) {
		return &URLError{Reason: "is plain http:// to a host that is not loopback: messages and their signature would cross the network unencrypted",
			hint: "use https://; plain http:// is only for a receiver on this machine (127.0.0.1, ::1, localhost)"}
	}
	return nil
}

// checkPort refuses a port that no connection can use. url.Parse has made
// sure it is digits.
func checkPort(port string) error {
	if port == "" {
		return nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return &URLError{Reason: fmt.Sprintf("has port %s, which is not a port number (1 to 65535)", port),
			hint: "write the receiver's port, or leave it out for the scheme's default"}
	}
	return nil
}

// checkService checks a URL of a scheme without a rule of its own: a
// shoutrrr service (the part before a "+", as in generic+https) whose URL
// shoutrrr can read. shoutrrr's own message is left out: it names the
// service and nothing more, and could quote a part of the URL.
func checkService(raw, scheme string) error {
	name := strings.SplitN(scheme, "+", 2)[0]
	var r router.ServiceRouter
	if _, err := r.NewService(name); err != nil {
		return unknownScheme(scheme, r.ListServices())
	}
	if _, err := r.Locate(raw); err != nil {
		return &URLError{Reason: fmt.Sprintf("is not a %s URL shoutrrr can read", name),
			hint: "see " + ShoutrrrDocs + " for the URL format of " + name}
	}
	return nil
}

// unknownScheme is the error of a scheme that neither has a rule nor is
// one of shoutrrr's services, with the closest of them as a suggestion: a
// scheme with a rule as written, a service by the part before a "+".
func unknownScheme(scheme string, services []string) error {
	name := strings.SplitN(scheme, "+", 2)[0]
	slices.Sort(services)
	h := "webhooks are https://; shoutrrr's services are " + strings.Join(services, ", ")
	var own []string
	for s := range channelSchemes {
		if !isWebhook(s) {
			own = append(own, s)
		}
	}
	if len(own) > 0 {
		slices.Sort(own)
		h = "patwatch also sends to " + strings.Join(own, ", ") + "; " + h
	}
	best := suggest.Closest(scheme, own)
	if best == "" {
		best = suggest.Closest(name, services)
	}
	if best != "" {
		h = "did you mean " + best + "://? " + h
	}
	return &URLError{Reason: fmt.Sprintf("has scheme %s://, which is neither a webhook nor a service patwatch can send to", name), hint: h}
}
