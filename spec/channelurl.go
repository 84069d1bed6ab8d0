package spec

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
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
// environment before it sends, so that what validate refuses no run tries:
// an https:// URL, or an http:// one to a loopback address, is a webhook;
// any other scheme must be a shoutrrr service whose URL shoutrrr can read.
// A port, when given, is a number from 1 to 65535. It sends nothing. A
// failure is a *URLError.
func CheckChannelURL(raw string) (webhook bool, err error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return false, &URLError{Reason: "is not a URL", hint: "write an https:// webhook, or a service URL such as slack://… or smtp://… (" + ShoutrrrDocs + ")"}
	case u.Scheme == "":
		return false, &URLError{Reason: "has no scheme", hint: "write an https:// webhook, or a service URL such as slack://… or smtp://… (" + ShoutrrrDocs + ")"}
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		if u.Host == "" {
			return false, &URLError{Reason: "has no host"}
		}
		webhook = true
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return false, &URLError{Reason: "is plain http:// to a host that is not loopback: messages and their signature would cross the network unencrypted",
				hint: "use https://; plain http:// is only for a receiver on this machine (127.0.0.1, ::1, localhost)"}
		}
		webhook = true
	default:
		if err := checkService(raw, u.Scheme); err != nil {
			return false, err
		}
	}
	if err := checkPort(u.Port()); err != nil {
		return false, err
	}
	return webhook, nil
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

// checkService checks a URL of a scheme other than http(s): a shoutrrr
// service (the part before a "+", as in generic+https) whose URL shoutrrr
// can read. shoutrrr's own message is left out: it names the service and
// nothing more, and could quote a part of the URL.
func checkService(raw, scheme string) error {
	name := strings.ToLower(strings.SplitN(scheme, "+", 2)[0])
	var r router.ServiceRouter
	if _, err := r.NewService(name); err != nil {
		services := r.ListServices()
		slices.Sort(services)
		hint := "webhooks are https://; shoutrrr's services are " + strings.Join(services, ", ")
		if best := Suggest(name, services); best != "" {
			hint = "did you mean " + best + "://? " + hint
		}
		return &URLError{Reason: fmt.Sprintf("has scheme %s://, which is neither a webhook nor a service patwatch can send to", name), hint: hint}
	}
	if _, err := r.Locate(raw); err != nil {
		return &URLError{Reason: fmt.Sprintf("is not a %s URL shoutrrr can read", name),
			hint: "see " + ShoutrrrDocs + " for the URL format of " + name}
	}
	return nil
}
