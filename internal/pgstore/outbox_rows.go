package pgstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/patwatch/patwatch/state"
)

// messageRow is an outbox message's row. seq orders the outbox, oldest
// first.
type messageRow struct {
	seq                      int64
	channel, spec, lastError string
	generatedAt, firstFailed time.Time
	simulated                bool
	attempts                 int
	events                   []byte // the events as a JSON array, keys as in the state file
	extra, raw               []byte
}

func (a *messageRow) equal(b *messageRow) bool {
	return a.seq == b.seq && a.channel == b.channel && a.spec == b.spec && a.lastError == b.lastError &&
		a.generatedAt.Equal(b.generatedAt) && a.firstFailed.Equal(b.firstFailed) && a.simulated == b.simulated &&
		a.attempts == b.attempts && bytes.Equal(a.events, b.events) && bytes.Equal(a.extra, b.extra) && bytes.Equal(a.raw, b.raw)
}

// eventJSON is an event in the events column: the state file's keys, so
// that a query reads events->>'patent_pn' as a user reads the file.
type eventJSON struct {
	Kind            string  `json:"kind"`
	Search          string  `json:"search,omitempty"`
	Report          string  `json:"report,omitempty"`
	PatentPN        string  `json:"patent_pn,omitempty"`
	Title           string  `json:"title,omitempty"`
	Score           float64 `json:"score,omitempty"`
	CurrentAssignee string  `json:"current_assignee,omitempty"`
	Apdt            int     `json:"apdt,omitempty"`
	Pbdt            int     `json:"pbdt,omitempty"`
	Link            string  `json:"link,omitempty"`
	Decision        string  `json:"decision,omitempty"`
	Patent          string  `json:"patent,omitempty"`
	File            string  `json:"file,omitempty"`
	Error           string  `json:"error,omitempty"`
	// X holds an event's fields this column does not model, by Go name.
	X json.RawMessage `json:"x,omitempty"`
}

var (
	eventExtraFields   = allFields(reflect.TypeFor[state.Event](), eventModelled...)
	messageExtraFields = allFields(reflect.TypeFor[state.Message](), messageModelled...)
	messageAllFields   = allFields(reflect.TypeFor[state.Message]())
)

func eventsJSON(evs []state.Event) ([]byte, error) {
	out := make([]eventJSON, len(evs))
	for i, e := range evs {
		out[i] = eventJSON{Kind: e.Kind, Search: e.Search, Report: e.Report, PatentPN: e.PatentPN, Title: e.Title, Score: e.Score,
			CurrentAssignee: e.CurrentAssignee, Apdt: e.Apdt, Pbdt: e.Pbdt, Link: e.Link, Decision: e.Decision, Patent: e.Patent, File: e.File, Error: e.Error}
		if eventHasExtra {
			x, err := fieldsJSON(&evs[i], eventExtraFields)
			if err != nil {
				return nil, err
			}
			out[i].X = x
		}
	}
	return json.Marshal(out)
}

func eventsOf(b []byte) ([]state.Event, error) {
	var in []eventJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	var out []state.Event
	for _, e := range in {
		ev := state.Event{Kind: e.Kind, Search: e.Search, Report: e.Report, PatentPN: e.PatentPN, Title: e.Title, Score: e.Score,
			CurrentAssignee: e.CurrentAssignee, Apdt: e.Apdt, Pbdt: e.Pbdt, Link: e.Link, Decision: e.Decision, Patent: e.Patent, File: e.File, Error: e.Error}
		if e.X != nil {
			if err := setFieldsJSON(&ev, e.X); err != nil {
				return nil, err
			}
		}
		out = append(out, ev)
	}
	return out, nil
}

func messageRowOf(m *state.Message, seq int64) (messageRow, error) {
	r := messageRow{seq: seq, channel: m.Channel, spec: m.Spec, lastError: m.LastError, generatedAt: normTime(m.GeneratedAt),
		firstFailed: normTime(m.FirstFailed), simulated: m.Simulated, attempts: m.Attempts}
	var err error
	if r.events, err = eventsJSON(m.Events); err != nil {
		return r, err
	}
	if r.events, err = canonicalJSON(r.events); err != nil {
		return r, err
	}
	if messageHasExtra {
		extra, err := fieldsJSON(m, messageExtraFields)
		if err == nil {
			r.extra, err = canonicalJSON(extra)
		}
		if err != nil {
			return r, err
		}
	}
	if anyNUL(m.ID, r.channel, r.spec, r.lastError) || hasNUL(r.events) || hasNUL(r.extra) {
		bare := *m
		bare.GeneratedAt, bare.FirstFailed = r.generatedAt, r.firstFailed
		raw, err := fieldsJSON(&bare, messageAllFields)
		if err != nil {
			return r, err
		}
		r.raw, r.extra = raw, nil
		r.channel, r.spec, r.lastError = noNUL(r.channel), noNUL(r.spec), noNUL(r.lastError)
		r.events = []byte("[]")
	}
	return r, nil
}

func (r *messageRow) message(id string) (*state.Message, error) {
	m := &state.Message{}
	if r.raw != nil {
		if err := setFieldsJSON(m, r.raw); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		return m, nil
	}
	m.ID, m.Channel, m.Spec, m.LastError = id, r.channel, r.spec, r.lastError
	m.GeneratedAt, m.FirstFailed, m.Simulated, m.Attempts = r.generatedAt, r.firstFailed, r.simulated, r.attempts
	var err error
	if m.Events, err = eventsOf(r.events); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if r.extra != nil {
		if err := setFieldsJSON(m, r.extra); err != nil {
			return nil, fmt.Errorf("extra: %w", err)
		}
	}
	return m, nil
}

// copyValues are the row's columns after state, id, from_serial.
func (r *messageRow) copyValues() []any {
	return []any{r.seq, r.channel, r.generatedAt, r.spec, r.simulated, r.events, r.attempts, nullableTime(r.firstFailed),
		nullable(r.lastError), jsonbOrNil(r.extra), textOrNil(r.raw)}
}

var messageColumns = []string{"seq", "channel", "generated_at", "spec", "simulated", "events", "attempts", "first_failed", "last_error", "extra", "raw"}
