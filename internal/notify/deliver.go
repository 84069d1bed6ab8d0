package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	mail "github.com/wneessen/go-mail"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Defaults of a Notifier.
const (
	// DefaultAttempts is how many times a run tries each message before it
	// leaves it for the next run.
	DefaultAttempts = 3
	// DefaultBackoff is the wait after the first failed attempt; it
	// doubles after each further one.
	DefaultBackoff = 2 * time.Second
	// DefaultTimeout bounds one attempt.
	DefaultTimeout = 30 * time.Second
	// DefaultDeadline bounds a whole delivery: every channel's messages,
	// their attempts and the waits between them.
	DefaultDeadline = 2 * time.Minute
	// MaxAge is how long a message may fail before it is dropped.
	MaxAge = 7 * 24 * time.Hour
	// concurrency is how many channels are delivered to at once.
	concurrency = 8
)

// Notifier delivers messages to channels. Its zero value works: it reads
// no environment (every url_env channel is unset), uses the real clock and
// a client of its own.
type Notifier struct {
	Getenv func(string) string // the environment channel URLs and keys are read from
	// Client sends webhooks; nil: a client that follows no redirect. Its
	// Timeout, if any, is in addition to Timeout.
	Client    *http.Client
	UserAgent string
	Now       func() time.Time
	// Sleep waits between attempts; nil: a timer (tests pass one that
	// does not wait).
	Sleep    func(ctx context.Context, d time.Duration) error
	Log      zerolog.Logger
	Attempts int           // per message and run; 0: DefaultAttempts
	Backoff  time.Duration // 0: DefaultBackoff
	Timeout  time.Duration // of one attempt; 0: DefaultTimeout
	// Deadline bounds each Deliver and Send as a whole, counted from its
	// start; 0: DefaultDeadline. A message not delivered by then stays
	// in the outbox with the failure recorded, as after any failed
	// attempt, and is sent again by the next run.
	Deadline time.Duration
	// DigestLimit is how many hits of each kind a digest lists per search;
	// 0: DigestLimit.
	DigestLimit int

	// sendService, when set, replaces the call into shoutrrr (tests).
	sendService func(ctx context.Context, p *prepared) error
	// sendMessage, when set, replaces the SMTP session of an e-mail
	// (tests).
	sendMessage func(ctx context.Context, msg *mail.Msg) error
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func (n *Notifier) getenv(k string) string {
	if n.Getenv != nil {
		return n.Getenv(k)
	}
	return ""
}

func (n *Notifier) sleep(ctx context.Context, d time.Duration) error {
	if n.Sleep != nil {
		return n.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pages renders the HTML part of each e-mail of a delivery, with its
// inline images (the runner's renders the e-mail of the message's events,
// with the drawings kept: report.RenderEmail); nil, or nil for a message,
// sends plain text only. It is called from one goroutine per channel.
type Pages func(*state.Message) *report.Email

// deadline starts the deadline of one delivery.
func (n *Notifier) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	d := n.Deadline
	if d <= 0 {
		d = DefaultDeadline
	}
	return context.WithTimeoutCause(ctx, d, &deadlineError{Deadline: d})
}

// deadlineError is why an attempt failed when a delivery's deadline
// (Notifier.Deadline) passed during it, or before it; the channel's error
// starts with it.
type deadlineError struct{ Deadline time.Duration }

func (e *deadlineError) Error() string {
	return fmt.Sprintf("the delivery's deadline of %s passed", e.Deadline)
}

// interrupted reports whether ctx ended before its delivery's deadline:
// an interrupt, or the run's own deadline.
func interrupted(ctx context.Context) bool {
	var de *deadlineError
	return ctx.Err() != nil && !errors.As(context.Cause(ctx), &de)
}

// Outcome is what a delivery did with an outbox.
type Outcome struct {
	// Outbox is what stays in the state: the messages no channel accepted
	// and none dropped, in their order, with the failed delivery recorded
	// (attempts, first failure, last error).
	Outbox []*state.Message
	// Channels holds one entry per channel that had messages, in the
	// spec's order, then the channels no longer in the spec.
	Channels []ChannelOutcome
}

// ChannelOutcome is what became of one channel's messages.
type ChannelOutcome struct {
	Channel   string
	Delivered []string // ids the channel accepted
	Kept      []string // ids left in the outbox for the next run
	Dropped   []string // ids given up
	// Err is why delivery failed (never holding the URL); nil when every
	// message was accepted, or the run ended before they were tried.
	Err error
	// Expired says that Dropped holds messages that failed for MaxAge.
	Expired bool
	// Gone says the channel is no longer in the spec: its messages were
	// dropped.
	Gone bool
}

// Err is the error of a delivery that left a channel's messages undelivered
// or gave up on some: a *DeliveryError, or nil.
func (o *Outcome) Err() error {
	var failed []ChannelOutcome
	for _, c := range o.Channels {
		if c.Err != nil {
			failed = append(failed, c)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &DeliveryError{Channels: failed}
}

// DeliveryError lists the channels whose delivery failed.
type DeliveryError struct{ Channels []ChannelOutcome }

func (e *DeliveryError) Error() string {
	var lines []string
	for _, c := range e.Channels {
		var what []string
		if len(c.Kept) > 0 {
			what = append(what, fmt.Sprintf("%d %s kept in the state for the next run", len(c.Kept), report.Plural(len(c.Kept), "message", "messages")))
		}
		if c.Expired {
			what = append(what, fmt.Sprintf("%d undeliverable for %s, dropped", len(c.Dropped), "7 days"))
		}
		lines = append(lines, fmt.Sprintf("notification to %s failed: %v; %s", c.Channel, c.Err, strings.Join(what, "; ")))
	}
	return strings.Join(lines, "\n")
}

// Hint says what to do next.
func (e *DeliveryError) Hint() string {
	for _, c := range e.Channels {
		var ue *UnsetError
		if errors.As(c.Err, &ue) {
			return ue.Hint()
		}
	}
	return "the next apply sends the kept messages again, with the same ids; 'patwatch notify test' checks a channel"
}

// Unwrap gives the channels' errors.
func (e *DeliveryError) Unwrap() []error {
	var out []error
	for _, c := range e.Channels {
		out = append(out, c.Err)
	}
	return out
}

// Deliver sends the outbox to channels: each channel's messages oldest
// first, channels at once. A message leaves the outbox only once its
// channel accepted it (a webhook's 2xx, a service's success), or when it
// has failed for MaxAge (reported as an error), or when its channel is no
// longer in the spec. After a channel refuses a message, its later
// messages wait for the next run too. When ctx ends, what was not tried
// stays as it was. Deliver does not modify outbox or its messages. pages
// renders the e-mails' HTML parts. The whole delivery is bounded by
// Deadline: when it passes, the channels that still have messages fail
// (their messages stay for the next run) and every connection Deliver
// opened is closed before it returns.
func (n *Notifier) Deliver(ctx context.Context, channels []spec.Channel, outbox []*state.Message, pages Pages) *Outcome {
	ctx, cancel := n.deadline(ctx)
	defer cancel()
	byChannel := map[string][]*state.Message{}
	var order []string
	for _, m := range outbox {
		if _, ok := byChannel[m.Channel]; !ok {
			order = append(order, m.Channel)
		}
		byChannel[m.Channel] = append(byChannel[m.Channel], m)
	}
	type job struct {
		ch   *spec.Channel
		name string
		msgs []*state.Message
	}
	var jobs []job
	for i := range channels {
		if msgs := byChannel[channels[i].Name]; len(msgs) > 0 {
			jobs = append(jobs, job{ch: &channels[i], name: channels[i].Name, msgs: msgs})
			delete(byChannel, channels[i].Name)
		}
	}
	for _, name := range order {
		if msgs, ok := byChannel[name]; ok {
			jobs = append(jobs, job{name: name, msgs: msgs})
		}
	}

	results := make([]ChannelOutcome, len(jobs))
	after := make([]map[*state.Message]*state.Message, len(jobs)) // message -> what stays of it (nil: leaves)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], after[i] = n.deliverChannel(ctx, j.ch, j.name, j.msgs, pages)
		}()
	}
	wg.Wait()

	out := &Outcome{Channels: results, Outbox: []*state.Message{}}
	stays := map[*state.Message]*state.Message{}
	for _, a := range after {
		for m, next := range a {
			stays[m] = next
		}
	}
	for _, m := range outbox {
		if next, ok := stays[m]; !ok {
			out.Outbox = append(out.Outbox, m) // not tried
		} else if next != nil {
			out.Outbox = append(out.Outbox, next)
		}
	}
	return out
}

// deliverChannel sends one channel's messages in order. It returns, for
// each message it dealt with, what stays of it in the outbox (nil: it
// leaves); messages it did not deal with are not in the map.
func (n *Notifier) deliverChannel(ctx context.Context, ch *spec.Channel, name string, msgs []*state.Message, pages Pages) (ChannelOutcome, map[*state.Message]*state.Message) {
	res := ChannelOutcome{Channel: name}
	after := map[*state.Message]*state.Message{}
	log := n.Log.With().Str("channel", name).Logger()
	if ch == nil {
		res.Gone = true
		for _, m := range msgs {
			after[m] = nil
			res.Dropped = append(res.Dropped, m.ID)
		}
		log.Warn().Int("messages", len(msgs)).Msg("the channel is no longer in the spec: its undelivered messages are dropped")
		return res, after
	}
	t, err := resolve(*ch, n.getenv)
	for i, m := range msgs {
		if err == nil {
			err = n.sendWithRetry(ctx, t, m, pages, log)
		}
		if err == nil {
			after[m] = nil
			res.Delivered = append(res.Delivered, m.ID)
			log.Info().Str("id", m.ID).Int("events", len(m.Events)).Msg("notification delivered")
			continue
		}
		if interrupted(ctx) {
			for _, m := range msgs[i:] { // they stay as they were, for the next run
				res.Kept = append(res.Kept, m.ID)
			}
			return res, after
		}
		// The channel is down, refused, or cannot be reached: this
		// message and the later ones wait, and each counts the failure.
		res.Err = err
		for _, m := range msgs[i:] {
			next := n.failed(m, err, t)
			if n.now().Sub(next.FirstFailed) >= MaxAge {
				after[m] = nil
				res.Dropped = append(res.Dropped, m.ID)
				res.Expired = true
				log.Error().Str("id", m.ID).Time("first_failed", next.FirstFailed).Str("last_error", next.LastError).
					Msg("notification undeliverable for 7 days: dropped")
				continue
			}
			after[m] = next
			res.Kept = append(res.Kept, m.ID)
		}
		break
	}
	return res, after
}

// failed returns a copy of m that records a failed delivery.
func (n *Notifier) failed(m *state.Message, err error, t *target) *state.Message {
	next := *m
	next.Attempts++
	if next.FirstFailed.IsZero() {
		next.FirstFailed = n.now().UTC().Truncate(time.Second)
	}
	msg := err.Error()
	if t != nil {
		msg = scrub(msg, t.secrets)
	}
	next.LastError = msg
	return &next
}

// Send delivers one message to ch now, with the same retries as Deliver,
// outside any outbox: 'patwatch notify test'.
func (n *Notifier) Send(ctx context.Context, ch spec.Channel, m *state.Message) error {
	ctx, cancel := n.deadline(ctx)
	defer cancel()
	t, err := resolve(ch, n.getenv)
	if err != nil {
		return err
	}
	return n.sendWithRetry(ctx, t, m, nil, n.Log.With().Str("channel", ch.Name).Logger())
}

// attemptError is a failed attempt, and whether another one may succeed.
type attemptError struct {
	err   error
	retry bool
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// sendWithRetry tries m up to Attempts times, waiting Backoff (doubling)
// between attempts that may succeed when repeated.
func (n *Notifier) sendWithRetry(ctx context.Context, t *target, m *state.Message, pages Pages, log zerolog.Logger) error {
	attempts := n.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	wait := n.Backoff
	if wait <= 0 {
		wait = DefaultBackoff
	}
	var err error
	for i := 1; ; i++ {
		err = n.attempt(ctx, t, m, pages)
		if err == nil {
			return nil
		}
		var ae *attemptError
		retry := !errors.As(err, &ae) || ae.retry
		var de *deadlineError
		if errors.As(context.Cause(ctx), &de) {
			err = fmt.Errorf("%w: %w", de, err)
		}
		// From here on the error is text only: whatever a library said is
		// scrubbed of the URL's parts and the key.
		err = errors.New(scrub(err.Error(), t.secrets))
		if !retry || i >= attempts || ctx.Err() != nil {
			return err
		}
		log.Warn().Str("id", m.ID).Int("attempt", i).Str("retry_in", wait.String()).Str("error", err.Error()).Msg("notification not delivered; trying again")
		if serr := n.sleep(ctx, wait); serr != nil {
			return err
		}
		wait *= 2
	}
}

// attempt makes one delivery of m to t through its sender, bounded by
// Timeout.
func (n *Notifier) attempt(ctx context.Context, t *target, m *state.Message, pages Pages) error {
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return t.sender.send(ctx, n, t, m, pages)
}
