package state

import (
	"crypto/rand"
	"errors"
	"fmt"
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

// validate checks what Load guarantees and Save requires of a state, but
// its hits, which encode checks, and fills nil maps with empty ones. It
// returns the first problem, with the path of the offending value.
func validate(st *State) error {
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
		if err := validateReport(name, r); err != nil {
			return err
		}
	}
	return validateV2(st)
}

func validateSearch(name string, s *Search) error {
	at := "searches[" + strconv.Quote(name) + "]"
	if name == "" {
		return errors.New("searches: empty search name")
	}
	if s == nil {
		return fmt.Errorf("%s: null", at)
	}
	if !isFingerprint(s.Fingerprint) {
		return fmt.Errorf("%s.fingerprint: %q is not sha256: and 64 lower-case hex digits", at, s.Fingerprint)
	}
	if err := checkTime(s.BaselineAt); err != nil {
		return fmt.Errorf("%s.baseline_at: %w", at, err)
	}
	if normTime(s.BaselineAt).IsZero() {
		return fmt.Errorf("%s.baseline_at: the zero time", at)
	}
	if s.Hits == nil {
		s.Hits = map[string]*Hit{}
	}
	// The hits, a million in a large state, are checked as they are
	// encoded, with validateHit: a pass of their own took a tenth of a
	// save.
	return nil
}

// validateHit returns errors that start with the hit's "[pn]" path element.
func validateHit(pn string, h *Hit) error {
	if pn != "" && h != nil && h.Missing >= 0 && h.Apdt >= 0 && h.Pbdt >= 0 && checkTime(h.FirstSeen) == nil {
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
	if err := checkTime(h.FirstSeen); err != nil {
		return fmt.Errorf("%s.first_seen: %w", at, err)
	}
	return nil
}

func validateReport(name string, r *Report) error {
	at := "reports[" + strconv.Quote(name) + "]"
	if name == "" {
		return errors.New("reports: empty report name")
	}
	if r == nil {
		return fmt.Errorf("%s: null", at)
	}
	switch r.Status {
	case ReportPending, ReportFailed, ReportDownloaded:
	default:
		return fmt.Errorf("%s.status: %q is not %s, %s or %s", at, r.Status, ReportPending, ReportFailed, ReportDownloaded)
	}
	if r.Format != "pdf" && r.Format != "word" {
		return fmt.Errorf("%s.format: %q is not pdf or word", at, r.Format)
	}
	if err := jobid.Check(r.JobID); err != nil && r.JobID != "" {
		if !isDecimal(r.JobID) {
			return fmt.Errorf("%s.job_id: %q is not a decimal number", at, r.JobID)
		}
		return fmt.Errorf("%s.job_id: %q: %w", at, r.JobID, err)
	}
	if r.SHA256 != "" && !isSHA256(r.SHA256) {
		return fmt.Errorf("%s.sha256: %q is not 64 lower-case hex digits", at, r.SHA256)
	}
	if err := checkTime(r.SubmittedAt); err != nil {
		return fmt.Errorf("%s.submitted_at: %w", at, err)
	}
	if err := checkTime(r.LinkExpiresAt); err != nil {
		return fmt.Errorf("%s.link_expires_at: %w", at, err)
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

// isFingerprint reports whether s is a query fingerprint as the spec
// computes it: "sha256:" and 64 lower-case hex digits.
func isFingerprint(s string) bool {
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

// normTime is t as the state file holds it: UTC, whole seconds.
func normTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Second)
}
