package runner

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Deliverer sends an outbox to the spec's channels (*notify.Notifier);
// pages, when not nil, renders the HTML part of each e-mail.
type Deliverer interface {
	Deliver(ctx context.Context, channels []spec.Channel, outbox []*state.Message, pages notify.Pages) *notify.Outcome
}

// composeOutbox puts the run's notification messages into the state it is
// about to save, after the messages earlier runs left undelivered: one per
// channel that has events, each with the id it keeps for good (made of
// the serial of the run's first save that changes content). The save that
// records the run's changes is the save that records their messages: no
// change is saved without its message, and no message is sent for a change
// not saved. Each checkpoint of a run composes its messages afresh from
// all the changes it holds, replacing the ones the last checkpoint saved:
// none is sent before the run's end.
func (r *Runner) composeOutbox(sp *spec.Spec, recorded *state.State, out *reconciler.Outcome) {
	outbox := slices.Clone(recorded.Outbox)
	if len(sp.Notify) > 0 {
		outbox = append(outbox, notify.Compose(sp.Notify, notify.Events(out.Report), notify.Run{
			Lineage:     out.State.Lineage,
			Serial:      recorded.Serial + 1, // the run's first save that changes content writes this serial
			GeneratedAt: out.Report.GeneratedAt,
			Spec:        r.SpecPath,
			Simulated:   r.Sandbox,
		})...)
	}
	if len(outbox) == 0 {
		outbox = nil
	}
	out.State.Outbox = outbox
}

// deliverOutbox sends the saved outbox and saves the state again without
// what the channels accepted. It returns a *notify.DeliveryError when a
// channel's messages stay undelivered or were given up, or an error when
// that second save failed (the accepted messages stay in the state and are
// sent again: at least once). A run that was interrupted sends nothing:
// its messages wait in the state for the next run.
func (r *Runner) deliverOutbox(ctx context.Context, sp *spec.Spec, out *reconciler.Outcome) error {
	if r.Notify == nil || len(out.State.Outbox) == 0 || ctx.Err() != nil {
		return nil
	}
	var pages notify.Pages
	if r.Drawings != nil {
		// E-mails get the HTML report's page of their events, with the
		// drawings the step before kept.
		pages = r.emailPages(ctx, sp, out.State.Outbox)
	}
	started := time.Now()
	outcome := r.Notify.Deliver(ctx, sp.Notify, out.State.Outbox, pages)
	r.Log.Debug().Int("messages", len(out.State.Outbox)).Int("channels", len(outcome.Channels)).
		Dur("took", time.Since(started)).Msg("outbox delivered")
	out.State.Outbox = outcome.Outbox
	if len(out.State.Outbox) == 0 {
		out.State.Outbox = nil
	}
	for _, c := range outcome.Channels {
		out.Report.Notifications = append(out.Report.Notifications, notificationChange(c))
	}
	written, err := r.Store.Save(context.WithoutCancel(ctx), out.State)
	if err != nil {
		return fmt.Errorf("the outbox was not saved after delivery; its delivered messages will be sent again: %w", err)
	}
	out.Report.StateChanged = out.Report.StateChanged || written
	r.Log.Debug().Bool("written", written).Uint64("serial", out.State.Serial).Int("outbox", len(out.State.Outbox)).Msg("state saved after delivery")
	return outcome.Err()
}

func notificationChange(c notify.ChannelOutcome) report.NotificationChange {
	n := report.NotificationChange{Channel: c.Channel, Status: report.NotificationDelivered,
		Delivered: orEmpty(c.Delivered), Kept: orEmpty(c.Kept), Dropped: orEmpty(c.Dropped)}
	switch {
	case c.Err != nil:
		n.Status, n.Error = report.NotificationFailed, c.Err.Error()
	case c.Gone:
		n.Status = report.NotificationRemoved
	case len(c.Kept) > 0:
		n.Status = report.NotificationPending // the run ended before they were tried
	}
	return n
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
