package notify

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/slack"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/teams"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/patwatch/patwatch/state"
)

// digestSender hands the digest to shoutrrr: the sender of every scheme
// without one of its own, which spec.CheckChannelURL has made sure is a
// shoutrrr service.
type digestSender struct{}

func init() { registerFallback(digestSender{}) }

func (digestSender) send(ctx context.Context, n *Notifier, t *target, m *state.Message, _ Pages) error {
	return n.sendDigest(ctx, t, m)
}

// prepared is what patwatch hands to shoutrrr for one message: the service
// its URL configures, the digest, and the params of the send.
type prepared struct {
	service types.Service
	scheme  string
	text    string
	params  types.Params
}

// prepare builds the shoutrrr service of t and the digest of m. Each
// delivery gets a service of its own: shoutrrr's services change their
// configuration while they send, and channels are sent to at once.
// shoutrrr gets no logger: what it would log (URLs, server answers) is not
// for patwatch's logs.
func (n *Notifier) prepare(t *target, m *state.Message) (*prepared, error) {
	var r router.ServiceRouter
	svc, err := r.Locate(t.url)
	if err != nil {
		return nil, &attemptError{err: fmt.Errorf("the URL is not one shoutrrr can read (%s)", scrub(err.Error(), t.secrets)), retry: false}
	}
	subject, text := Digest(m, n.DigestLimit)
	text += "\nmessage id " + m.ID + "\n"
	p := &prepared{service: svc, scheme: svc.GetID(), text: text, params: types.Params{}}
	query := queryKeys(t.url)
	// Where a service shows a title of its own (the head of a Slack
	// message or a Teams card), the digest's first line becomes it,
	// unless the URL sets one. (An e-mail's subject: mail.go.)
	body := strings.TrimPrefix(text, subject+"\n")
	switch svc := svc.(type) {
	case *slack.Service:
		if !query["title"] {
			svc.Config.Title, p.text = subject, body
		}
	case *teams.Service:
		if !query["title"] {
			svc.Config.Title, p.text = subject, body
		}
	}
	return p, nil
}

// queryKeys are the query keys of a URL, lower-case (shoutrrr's are case
// insensitive).
func queryKeys(raw string) map[string]bool {
	keys := map[string]bool{}
	if u, err := url.Parse(raw); err == nil {
		for k := range u.Query() {
			keys[strings.ToLower(k)] = true
		}
	}
	return keys
}

// sendDigest makes one delivery of m's digest through shoutrrr.
func (n *Notifier) sendDigest(ctx context.Context, t *target, m *state.Message) error {
	p, err := n.prepare(t, m)
	if err != nil {
		return err
	}
	if n.sendService != nil {
		return n.sendService(ctx, p)
	}
	return sendShoutrrr(ctx, p)
}

// sendShoutrrr calls the service's Send, which takes no context: when ctx
// ends first the attempt counts as failed and the call is left to end by
// itself (most services time out within 10 s; generic:// waits as long as
// its server does). Its outcome is then unknown, and the message is sent
// again: at least once.
func sendShoutrrr(ctx context.Context, p *prepared) error {
	done := make(chan error, 1)
	go func() { done <- p.service.Send(p.text, &p.params) }()
	select {
	case err := <-done:
		if err != nil {
			return &attemptError{err: fmt.Errorf("%s: %w", p.scheme, err), retry: true}
		}
		return nil
	case <-ctx.Done():
		return &attemptError{err: fmt.Errorf("%s: no answer in time", p.scheme), retry: true}
	}
}
