// Package notify turns the outcome of a run into notification messages and
// delivers them to the spec's channels: webhooks (https://, or http:// to a
// loopback address), which receive the contract's JSON; e-mail (smtp://,
// in shoutrrr's URL form), which patwatch's own mail writer sends with the
// digest as its text and the run's e-mail page as its HTML (mail.go); and
// every other scheme through shoutrrr, which receives a readable digest.
// Each of these is a sender in a file of its own that registers itself
// for its URL schemes (sender.go): a channel shoutrrr lacks is one more
// such file.
// A delivery is bounded by one deadline, and an e-mail's connections
// never outlive their attempt.
//
// Messages are values of the state's outbox (state.Message): the runner
// writes them into the state in the same save as the changes they describe
// and only then calls Deliver, which returns the outbox less what the
// channels accepted. A message sent again is the same message, id and body:
// delivery is at least once, and the id lets a receiver drop duplicates.
package notify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Event kinds, as the contract spells them.
const (
	KindNew      = "new"
	KindDropped  = "dropped"
	KindFinished = "finished"
	KindFailed   = "failed"
	KindError    = "error"
	KindTest     = "test" // the only event of 'patwatch notify test'
)

// FormatVersion is the version of the webhook message's shape.
const FormatVersion = "1"

// Events lists what a run's change report has to tell, in the report's
// order: per search its new hits and dropped hits (each with its decision,
// when the decisions file holds one: a not_relevant hit is not in the
// report at all) and its error; per report its finish, failure or error.
// Baselines, removals, skipped entries and entries the daily budget
// deferred tell nothing.
func Events(rep *report.ChangeReport) []state.Event {
	var out []state.Event
	// A run stopped at an account-wide error tells it once, with what to
	// check, not once for every entry it left undone (nor again for each
	// entry whose call was in flight when the first answer came).
	stopTold := false
	add := func(e state.Event) {
		if e.Kind == KindError && rep.Stopped != nil {
			switch {
			case e.Error == report.NotDoneStopped:
				return
			case e.Error == rep.Stopped.Error && stopTold:
				return
			case e.Error == rep.Stopped.Error:
				stopTold = true
				e.Error += "; the run stopped here, as every other call would fail the same way: " + rep.Stopped.Check
			}
		}
		out = append(out, e)
	}
	for _, s := range rep.Searches {
		for _, h := range s.New {
			out = append(out, state.Event{Kind: KindNew, Search: s.Name, PatentPN: h.PatentPN, Title: h.Title, Score: h.Score,
				CurrentAssignee: h.CurrentAssignee, Apdt: h.Apdt, Pbdt: h.Pbdt, Link: h.Link, Decision: h.Decision})
		}
		for _, h := range s.Dropped {
			out = append(out, state.Event{Kind: KindDropped, Search: s.Name, PatentPN: h.PatentPN, Title: h.Title,
				CurrentAssignee: h.CurrentAssignee, Apdt: h.Apdt, Pbdt: h.Pbdt, Link: h.Link, Decision: h.Decision})
		}
		if s.Status == report.StatusError && !s.Deferred {
			add(state.Event{Kind: KindError, Search: s.Name, Error: s.Error})
		}
	}
	for _, r := range rep.Reports {
		switch r.Status {
		case report.ReportFinished:
			out = append(out, state.Event{Kind: KindFinished, Report: r.Name, Patent: r.Patent, File: r.File})
		case report.ReportFailed:
			out = append(out, state.Event{Kind: KindFailed, Report: r.Name, Patent: r.Patent, Error: r.Error})
		case report.ReportError:
			if r.Deferred {
				continue
			}
			add(state.Event{Kind: KindError, Report: r.Name, Error: r.Error})
		}
	}
	if rep.Stopped != nil && !stopTold { // no entry's own call met it (the token exchange did)
		out = append(out, state.Event{Kind: KindError, Error: "the run stopped at an account-wide error: " + rep.Stopped.Error + "; " + rep.Stopped.Check})
	}
	return out
}

// Select returns the events ch asks for: of a kind in its on list, of an
// entry in its searches list (when it has one), and, for new hits, scoring
// at least its min_score.
func Select(ch spec.Channel, events []state.Event) []state.Event {
	var out []state.Event
	for _, e := range events {
		if !slices.Contains(ch.On, e.Kind) {
			continue
		}
		if len(ch.Searches) > 0 && !slices.Contains(ch.Searches, e.Search) && !slices.Contains(ch.Searches, e.Report) {
			continue
		}
		if e.Kind == KindNew && e.Score < ch.MinScore {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Run is what messages say about the run that made them.
type Run struct {
	// Lineage and Serial are the state's lineage and the serial of the
	// run's first save that writes messages into the outbox (a run that
	// saves as it goes composes them afresh for each save).
	Lineage     string
	Serial      uint64
	GeneratedAt time.Time
	Spec        string // the spec's path as the command line gave it
	Simulated   bool   // a --sandbox run
}

// Compose returns one message for each channel that has events among
// events, in the spec's order of channels.
func Compose(channels []spec.Channel, events []state.Event, run Run) []*state.Message {
	var out []*state.Message
	for _, ch := range channels {
		evs := Select(ch, events)
		if len(evs) == 0 {
			continue
		}
		m := &state.Message{
			Channel:     ch.Name,
			GeneratedAt: run.GeneratedAt.UTC().Truncate(time.Second),
			Spec:        run.Spec,
			Simulated:   run.Simulated,
			Events:      evs,
		}
		m.ID = messageID(run.Lineage, run.Serial, m)
		out = append(out, m)
	}
	return out
}

// messageID is the id of m, written into the outbox with it: the state's
// lineage, the serial of its run's first save, the channel, and a digest
// of what it says. The id is kept with the message, so every retry sends
// the same one. It is unique because no two runs of a lineage save at the
// same serial and a run holds one message per channel; the digest keeps it
// unique should a serial come round twice (a state pushed back over a
// newer one with --force), and between the versions of a run's message
// that its saves as it goes hold: two messages share an id only if they
// also say the same thing, which is what a receiver's de-duplication
// assumes.
func messageID(lineage string, serial uint64, m *state.Message) string {
	sum := sha256.Sum256(body(m, ""))
	return lineage + ":" + strconv.FormatUint(serial, 10) + ":" + m.Channel + ":" + hex.EncodeToString(sum[:6])
}

// TestMessage is the message of 'patwatch notify test' for channel: one
// event of kind test. It is never kept in an outbox; its id is new on
// each call.
func TestMessage(channel, specPath string, now time.Time) *state.Message {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails, per its documentation
	return &state.Message{
		ID:          "test:" + channel + ":" + hex.EncodeToString(b[:]),
		Channel:     channel,
		GeneratedAt: now.UTC().Truncate(time.Second),
		Spec:        specPath,
		Events:      []state.Event{{Kind: KindTest}},
	}
}
