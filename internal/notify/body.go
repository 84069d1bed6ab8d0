package notify

import (
	"bytes"
	"encoding/json"
	"math"
	"time"

	"github.com/patwatch/patwatch/state"
)

// Body is the JSON a webhook receives for m, as README.md's
// "Notifications" section fixes it. Equal messages give equal bytes, so a
// message sent again has the same body and signature. A hit's decision is
// a member only when it has one: a message kept from before decisions
// were notified (none of its events has one) keeps its bytes, and so the
// id made of them.
func Body(m *state.Message) []byte { return body(m, m.ID) }

func body(m *state.Message, id string) []byte {
	w := wireMessage{
		FormatVersion: FormatVersion,
		ID:            id,
		Channel:       m.Channel,
		GeneratedAt:   m.GeneratedAt.UTC().Format(time.RFC3339),
		Spec:          m.Spec,
		Simulated:     m.Simulated,
		Events:        make([]any, 0, len(m.Events)),
	}
	for _, e := range m.Events {
		w.Events = append(w.Events, wireEvent(e))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Strings, integers, booleans and finite floats (wireEvent sees to
	// that): encoding cannot fail.
	_ = enc.Encode(w)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

type wireMessage struct {
	FormatVersion string `json:"format_version"`
	ID            string `json:"id"`
	Channel       string `json:"channel"`
	GeneratedAt   string `json:"generated_at"`
	Spec          string `json:"spec"`
	Simulated     bool   `json:"simulated"`
	Events        []any  `json:"events"`
}

// wireEvent is e with the members its kind has, in the contract's order.
func wireEvent(e state.Event) any {
	switch e.Kind {
	case KindNew:
		score := e.Score
		if math.IsNaN(score) || math.IsInf(score, 0) {
			score = 0 // not a score; JSON has no such number
		}
		return struct {
			Kind            string  `json:"kind"`
			Search          string  `json:"search"`
			PatentPN        string  `json:"patent_pn"`
			Title           string  `json:"title"`
			Score           float64 `json:"score"`
			CurrentAssignee string  `json:"current_assignee"`
			Apdt            int     `json:"apdt"`
			Pbdt            int     `json:"pbdt"`
			Link            string  `json:"link"`
			Decision        string  `json:"decision,omitempty"`
		}{e.Kind, e.Search, e.PatentPN, e.Title, score, e.CurrentAssignee, e.Apdt, e.Pbdt, e.Link, e.Decision}
	case KindDropped:
		return struct {
			Kind            string `json:"kind"`
			Search          string `json:"search"`
			PatentPN        string `json:"patent_pn"`
			Title           string `json:"title"`
			CurrentAssignee string `json:"current_assignee,omitempty"`
			Apdt            int    `json:"apdt,omitempty"`
			Pbdt            int    `json:"pbdt,omitempty"`
			Link            string `json:"link"`
			Decision        string `json:"decision,omitempty"`
		}{e.Kind, e.Search, e.PatentPN, e.Title, e.CurrentAssignee, e.Apdt, e.Pbdt, e.Link, e.Decision}
	case KindFinished:
		return struct {
			Kind   string `json:"kind"`
			Report string `json:"report"`
			Patent string `json:"patent"`
			File   string `json:"file"`
		}{e.Kind, e.Report, e.Patent, e.File}
	case KindFailed:
		return struct {
			Kind   string `json:"kind"`
			Report string `json:"report"`
			Patent string `json:"patent"`
			Error  string `json:"error"`
		}{e.Kind, e.Report, e.Patent, e.Error}
	case KindError:
		return struct {
			Kind   string `json:"kind"`
			Search string `json:"search,omitempty"`
			Report string `json:"report,omitempty"`
			Error  string `json:"error"`
		}{e.Kind, e.Search, e.Report, e.Error}
	}
	return struct {
		Kind string `json:"kind"`
	}{e.Kind}
}
