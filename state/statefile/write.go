package statefile

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// write is the one writer (see the package doc). It writes st, which
// state.Validate has accepted, to w with header h, in the layout of the
// newest format, fileV2, with every member that st does not use left out.
// It tells l where the header ends and each search starts; once l says so,
// it keeps to one goroutine.
func write(w io.Writer, st *state.State, h Header, l *Layout) error {
	live := &writer{layout: l}
	v := fileV2{
		FormatVersion: h.FormatVersion, Serial: h.Serial, Lineage: text(h.Lineage), PatwatchVersion: text(h.PatwatchVersion),
		Searches: searchMap{w: live, m: st.Searches}, Reports: reportMap{m: st.Reports},
		Refreshed: refreshTimes(st.Searches), ReportAttempts: reportAttempts(st.Reports), Outbox: outbox(st.Outbox),
	}
	// The retired searches are written by a writer of their own, whose
	// layout the caller never sees: Layout describes the live ones.
	var retired *writer
	if len(st.RetiredSearches) > 0 || len(st.RetiredReports) > 0 {
		retired = &writer{layout: &Layout{}}
		retired.layout.alone.Store(l.alone.Load())
		v.Retired = retiredOf(st, retired)
	}
	if st.Budget != nil {
		v.Budget = &budgetJSON{Day: st.Budget.Day, Calls: st.Budget.Calls}
	}
	enc := jsontext.NewEncoder(w,
		jsontext.WithIndent("  "),
		jsontext.PreserveRawStrings(true),  // keep text's escapes of invalid UTF-8
		jsontext.AllowDuplicateNames(true), // the names are a map's keys: checking them is all cost
	)
	if err := json.MarshalEncode(enc, &v, json.Deterministic(true)); err != nil {
		if live.invalid != nil {
			return live.invalid
		}
		if retired != nil && retired.invalid != nil {
			return fmt.Errorf("retired.%w", retired.invalid)
		}
		return err
	}
	return nil
}

// refreshTimes is the refreshed member: the searches' refresh times, where
// they have one.
func refreshTimes(searches map[string]*state.Search) map[string]timestamp {
	var m map[string]timestamp
	for name, s := range searches {
		if !s.RefreshedAt.IsZero() {
			if m == nil {
				m = map[string]timestamp{}
			}
			m[name] = timestamp(normTime(s.RefreshedAt))
		}
	}
	return m
}

// reportAttempts is the report_attempts member: the reports' attempts,
// where they have some.
func reportAttempts(reports map[string]*state.Report) map[string]attemptsJSON {
	var m map[string]attemptsJSON
	for name, r := range reports {
		if r.Submissions != 0 || !r.OutcomeUnknownAt.IsZero() {
			if m == nil {
				m = map[string]attemptsJSON{}
			}
			m[name] = attemptsJSON{Submissions: r.Submissions, OutcomeUnknownAt: timestamp(normTime(r.OutcomeUnknownAt))}
		}
	}
	return m
}

// retiredOf is the retired member, written through w.
func retiredOf(st *state.State, w *writer) *retiredJSON {
	v := &retiredJSON{
		Searches: searchMap{w: w, m: orEmpty(st.RetiredSearches)}, Reports: reportMap{m: orEmpty(st.RetiredReports)},
		Since: sinceJSON{Searches: map[string]timestamp{}, Reports: map[string]timestamp{}},
	}
	for name, s := range st.RetiredSearches {
		v.Since.Searches[name] = timestamp(normTime(s.RetiredAt))
	}
	for name, r := range st.RetiredReports {
		v.Since.Reports[name] = timestamp(normTime(r.RetiredAt))
	}
	return v
}

// outbox is the outbox member.
func outbox(messages []*state.Message) []messageJSON {
	var out []messageJSON
	for _, m := range messages {
		mv := messageJSON{ID: m.ID, Channel: m.Channel, GeneratedAt: timestamp(normTime(m.GeneratedAt)), Spec: m.Spec, Simulated: m.Simulated,
			Attempts: m.Attempts, FirstFailed: timestamp(normTime(m.FirstFailed)), LastError: m.LastError, Events: []eventJSON{}}
		for _, ev := range m.Events {
			mv.Events = append(mv.Events, eventJSON(ev))
		}
		out = append(out, mv)
	}
	return out
}

func orEmpty[T any](m map[string]*T) map[string]*T {
	if m == nil {
		return map[string]*T{}
	}
	return m
}

// hitsPipe builds the hits objects of the searches, in order, in the
// background, a few searches ahead of the encoder, which then only checks
// and indents them: on two cores a save that changes nothing takes half
// the time. It reads the state alongside the encoder and changes nothing.
// Once alone is set, the building stops and the encoder builds the rest
// itself, leaving the other core to whatever asked for it.
type hitsPipe struct {
	names []string
	m     map[string]*state.Search
	built chan built
	free  chan []byte
	quit  chan struct{}
	wg    sync.WaitGroup

	n     int    // searches the encoder has had
	own   []byte // the encoder's buffer, once it builds
	piped bool   // the last object came from built
}

const hitsAhead = 3 // the buffers in use: one encoded, the others built

func buildHits(names []string, m map[string]*state.Search, alone *atomic.Bool) *hitsPipe {
	p := &hitsPipe{names: names, m: m, built: make(chan built, hitsAhead), free: make(chan []byte, hitsAhead), quit: make(chan struct{})}
	for range hitsAhead {
		p.free <- nil
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(p.built)
		for _, name := range names {
			if alone.Load() {
				return
			}
			var b []byte
			select {
			case b = <-p.free:
			case <-p.quit:
				return
			}
			b, err := appendHits(b[:0], m[name].Hits)
			select {
			case p.built <- built{b, err}:
			case <-p.quit:
				return
			}
		}
	}()
	return p
}

// built is the hits object of a search, or why it is not valid.
type built struct {
	b   []byte
	err error
}

// next returns the hits object of the next search.
func (p *hitsPipe) next() ([]byte, error) {
	h, ok := <-p.built
	p.piped = ok
	if !ok { // the building stopped
		h.b, h.err = appendHits(p.own[:0], p.m[p.names[p.n]].Hits)
		p.own = h.b
	}
	p.n++
	return h.b, h.err
}

// recycle returns the buffer that next returned once the encoder is done
// with it.
func (p *hitsPipe) recycle(b []byte) {
	if p.piped {
		p.free <- b
	}
}

// stop ends the building and waits for it.
func (p *hitsPipe) stop() {
	close(p.quit)
	p.wg.Wait()
}
