package notify

import (
	"context"
	"errors"
	"net/url"
	"sync"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// This file is a whole channel that shoutrrr lacks, as a new sender file
// would be: loopback+test://INBOX hands each message's JSON to the inbox
// that openInbox made under that name. Its init gives the spec its URLs'
// rule and the notifier its sender; no other file names it. It is compiled
// into the tests only.

func init() {
	spec.RegisterChannelScheme("loopback+test", checkLoopbackURL)
	register(loopbackSender{}, "loopback+test")
}

// checkLoopbackURL is the rule of loopback+test:// URLs: they name an
// inbox.
func checkLoopbackURL(u *url.URL) error {
	if u.Hostname() == "" {
		return hint.Wrap(errors.New("names no inbox"), "write loopback+test://INBOX")
	}
	return nil
}

// inboxes holds the open inboxes by name.
var inboxes sync.Map

// openInbox opens the inbox name, which holds up to 4 messages.
func openInbox(name string) chan []byte {
	inbox := make(chan []byte, 4)
	inboxes.Store(name, inbox)
	return inbox
}

type loopbackSender struct{}

func (loopbackSender) send(ctx context.Context, _ *Notifier, t *target, m *state.Message, _ Pages) error {
	u, _ := url.Parse(t.url) // spec.CheckChannelURL has parsed it
	inbox, ok := inboxes.Load(u.Hostname())
	if !ok {
		return &attemptError{err: errors.New("loopback: no such inbox"), retry: false}
	}
	select {
	case inbox.(chan []byte) <- Body(m):
		return nil
	case <-ctx.Done():
		return &attemptError{err: errors.New("loopback: the inbox is full"), retry: true}
	}
}
