package notify

import (
	"context"
	"strings"

	"github.com/patwatch/patwatch/state"
)

// A sender delivers messages to the channels whose URLs it takes. Each one
// lives in a file of its own that registers it from its init (webhook.go,
// mail.go, service.go), so that resolve and attempt know none by name: a
// channel shoutrrr lacks is one new file, whose init also gives
// spec.RegisterChannelScheme the rule of its URLs.
type sender interface {
	// send makes one delivery of m to t, bounded by ctx. pages renders
	// the message's e-mail page, for a sender that has a use for it. A
	// failure that a repeat would meet again is an *attemptError whose
	// retry is false; any other error is retried within the run. An error
	// may quote the URL: the caller scrubs it.
	send(ctx context.Context, n *Notifier, t *target, m *state.Message, pages Pages) error
}

// senders holds the sender of each scheme that has one, by lower-case
// scheme, and fallback the sender of every other scheme. Only register and
// registerFallback write them, from init functions: once main runs they are
// only read.
var (
	senders  = map[string]sender{}
	fallback sender
)

// register makes s the sender of URLs of the given schemes. A scheme has
// one sender: register panics when one of them already has a sender.
func register(s sender, schemes ...string) {
	for _, scheme := range schemes {
		scheme = strings.ToLower(scheme)
		if _, ok := senders[scheme]; ok {
			panic("notify: a second sender for scheme " + scheme)
		}
		senders[scheme] = s
	}
}

// registerFallback makes s the sender of every scheme no sender is
// registered for (shoutrrr's digest, service.go). It panics when called
// twice.
func registerFallback(s sender) {
	if fallback != nil {
		panic("notify: a second fallback sender")
	}
	fallback = s
}

// senderOf is the sender of URLs of scheme: the one registered for it,
// else the fallback. spec.CheckChannelURL has accepted the URL, so that a
// scheme without a sender of its own is a shoutrrr service.
func senderOf(scheme string) sender {
	if s, ok := senders[strings.ToLower(scheme)]; ok {
		return s
	}
	return fallback
}
