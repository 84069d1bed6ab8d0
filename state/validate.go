package state

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/jobid"
)

// newLineage returns a random version 4 UUID. A lineage tells two state
// files apart that happen to share a path and a serial.
func newLineage() string {
	var u [16]byte
	rand.Read(u[:]) // never fails, per its documentation
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return string(b)
}

// MaxCount bounds every count a state holds: a hit's missing, apdt and
// pbdt, a report's submissions, a message's attempts, the budget's calls.
const MaxCount = 1<<31 - 1

// Validate checks what every store requires of a state before it writes it
// and guarantees of one it reads, but its hits, which are too many to pass
// over twice: a writer checks each with ValidateHit as it writes it. It
// fills nil maps with empty ones, and returns the first problem, with the
// path of the offending value.
func Validate(st *State) error {
	if st == nil {
		return errors.New("nil state")
	}
	if st.Lineage == "" {
		return errors.New("lineage: empty")
	}
	if st.Searches == nil {
		st.Searches = map[string]*Search{}
	}
	if st.Reports == nil {
		st.Reports = map[string]*Report{}
	}
	for name, s := range st.Searches {
		if err := validateSearch(name, s); err != nil {
			return err
		}
	}
	for name, r := range st.Reports {
		if err := ValidateReport(name, r); err != nil {
			return err
		}
	}
	return ValidateFormat2(st)
}

func validateSearch(name string, s *Search) error {
	if name == "" {
		return errors.New("searches: empty search name")
	}
	if s == nil {
		return fmt.Errorf("searches[%q]: null", name)
	}
	if !IsFingerprint(s.Fingerprint) {
		return fmt.Errorf("searches[%q].fingerprint: %q is not sha256: and 64 lower-case hex digits", name, s.Fingerprint)
	}
	if err := CheckTime(s.BaselineAt); err != nil {
		return fmt.Errorf("searches[%q].baseline_at: %w", name, err)
	}
	if s.BaselineAt.Truncate(time.Second).IsZero() { // zero as a file holds it, to the second
		return fmt.Errorf("searches[%q].baseline_at: the zero time", name)
	}
	if s.Hits == nil {
		s.Hits = map[string]*Hit{}
	}
	// The hits, a million in a large state, are checked as they are
	// written, with ValidateHit: a pass of their own took a tenth of a
	// save.
	return nil
}

// ValidateHit checks the hit h recorded as pn, which Validate leaves out.
// Its errors start with the hit's "[pn]" path element, for the caller to
// put the search's path before.
func ValidateHit(pn string, h *Hit) error {
	if pn != "" && h != nil && h.Missing >= 0 && h.Apdt >= 0 && h.Pbdt >= 0 && CheckTime(h.FirstSeen) == nil {
		return nil // the common case, without building the path
	}
	at := "[" + strconv.Quote(pn) + "]"
	switch {
	case pn == "":
		return errors.New(": empty patent_pn")
	case h == nil:
		return fmt.Errorf("%s: null", at)
	case h.Missing < 0:
		return fmt.Errorf("%s.missing: negative (%d)", at, h.Missing)
	case h.Apdt < 0:
		return fmt.Errorf("%s.apdt: negative (%d)", at, h.Apdt)
	case h.Pbdt < 0:
		return fmt.Errorf("%s.pbdt: negative (%d)", at, h.Pbdt)
	}
	if err := CheckTime(h.FirstSeen); err != nil {
		return fmt.Errorf("%s.first_seen: %w", at, err)
	}
	return nil
}

// ValidateReport checks the report recorded as name, as Validate does.
func ValidateReport(name string, r *Report) error {
	if name == "" {
		return errors.New("reports: empty report name")
	}
	if r == nil {
		return fmt.Errorf("reports[%q]: null", name)
	}
	switch r.Status {
	case ReportPending, ReportFailed, ReportDownloaded:
	default:
		return fmt.Errorf("reports[%q].status: %q is not %s, %s or %s", name, r.Status, ReportPending, ReportFailed, ReportDownloaded)
	}
	if r.Format != "pdf" && r.Format != "word" {
		return fmt.Errorf("reports[%q].format: %q is not pdf or word", name, r.Format)
	}
	if err := jobid.Check(r.JobID); err != nil && r.JobID != "" {
		if !isDecimal(r.JobID) {
			return fmt.Errorf("reports[%q].job_id: %q is not a decimal number", name, r.JobID)
		}
		return fmt.Errorf("reports[%q].job_id: %q: %w", name, r.JobID, err)
	}
	if r.SHA256 != "" && !isSHA256(r.SHA256) {
		return fmt.Errorf("reports[%q].sha256: %q is not 64 lower-case hex digits", name, r.SHA256)
	}
	if err := CheckTime(r.SubmittedAt); err != nil {
		return fmt.Errorf("reports[%q].submitted_at: %w", name, err)
	}
	if err := CheckTime(r.LinkExpiresAt); err != nil {
		return fmt.Errorf("reports[%q].link_expires_at: %w", name, err)
	}
	return nil
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsFingerprint reports whether s is a query fingerprint as the spec
// computes it: "sha256:" and 64 lower-case hex digits.
func IsFingerprint(s string) bool {
	digits, ok := strings.CutPrefix(s, "sha256:")
	return ok && isSHA256(digits)
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckTime reports whether a state can hold t: its stores write times as
// RFC 3339, which needs a four-digit year.
func CheckTime(t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("time %s is outside years 0000-9999", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// ValidateFormat2 checks the fields of st that need format 2 (see
// FormatOf): the retired entries, refresh times, report attempts, budget
// and outbox. Validate includes it; a reader, which checks searches and
// reports as it reads them, calls it for the rest.
func ValidateFormat2(st *State) error {
	for name, s := range st.RetiredSearches {
		if err := validateSearch(name, s); err != nil {
			return fmt.Errorf("retired.%w", err)
		}
		if err := CheckTime(s.RetiredAt); err != nil || s.RetiredAt.IsZero() {
			return fmt.Errorf("retired.searches[%q]: no retirement time", name)
		}
	}
	for name, r := range st.RetiredReports {
		if err := ValidateReport(name, r); err != nil {
			return fmt.Errorf("retired.%w", err)
		}
		if err := CheckTime(r.RetiredAt); err != nil || r.RetiredAt.IsZero() {
			return fmt.Errorf("retired.reports[%q]: no retirement time", name)
		}
	}
	for name, s := range st.Searches {
		if err := CheckTime(s.RefreshedAt); err != nil {
			return fmt.Errorf("searches[%q].refreshed_at: %w", name, err)
		}
	}
	for name, r := range st.Reports {
		if r.Submissions < 0 || r.Submissions > MaxCount {
			return fmt.Errorf("reports[%q].submissions: %d is out of range", name, r.Submissions)
		}
		if err := CheckTime(r.OutcomeUnknownAt); err != nil {
			return fmt.Errorf("reports[%q].outcome_unknown_at: %w", name, err)
		}
	}
	if b := st.Budget; b != nil {
		if d, err := time.Parse(time.DateOnly, b.Day); err != nil || d.Format(time.DateOnly) != b.Day {
			return fmt.Errorf("budget.day: %q is not a date such as 2026-12-01", b.Day)
		}
		if b.Calls < 0 || b.Calls > MaxCount {
			return fmt.Errorf("budget.calls: %d is out of range", b.Calls)
		}
	}
	return validateOutbox(st.Outbox)
}

func validateOutbox(outbox []*Message) error {
	ids := map[string]bool{}
	for i, m := range outbox {
		at := "outbox[" + strconv.Itoa(i) + "]"
		switch {
		case m == nil:
			return fmt.Errorf("%s: null", at)
		case m.ID == "":
			return fmt.Errorf("%s.id: empty", at)
		case ids[m.ID]:
			return fmt.Errorf("%s.id: %q appears twice", at, m.ID)
		case m.Channel == "":
			return fmt.Errorf("%s.channel: empty", at)
		case m.Attempts < 0 || m.Attempts > MaxCount:
			return fmt.Errorf("%s.attempts: %d is out of range", at, m.Attempts)
		}
		ids[m.ID] = true
		for _, t := range []time.Time{m.GeneratedAt, m.FirstFailed} {
			if err := CheckTime(t); err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
		}
		for j, e := range m.Events {
			if !slices.Contains(eventKinds, e.Kind) {
				return fmt.Errorf("%s.events[%d].kind: %q is not one of %v", at, j, e.Kind, eventKinds)
			}
		}
	}
	return nil
}

// eventKinds are the kinds of Event.Kind; "test" is the message of
// 'patwatch notify test', which is never kept but may be.
var eventKinds = []string{"new", "dropped", "finished", "failed", "error", "test"}
