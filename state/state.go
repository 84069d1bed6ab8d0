// Package state is patwatch's memory of every watch: the hits each search has
// recorded and the jobs and files of each report, as the reconciler and every
// store use it, with the checks a state passes before a store writes it.
//
// Where a state is kept is not this package's business: state/statefile is
// the state file's format (a reader per format version and one writer),
// state/filestore keeps a state in a file (lock, atomic save, backup), and
// internal/pgstore keeps one in PostgreSQL.
package state

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// FormatVersion is the newest format of a state this build reads and
// writes. A format is a version of the content, shared by every store: a
// newer one adds fields, marked below with the format that needs them, and
// FormatOf says which format a state needs. A store refuses a state of a
// format newer than this.
const FormatVersion = 2

// FormatOf is the oldest format that holds st: 2 when a field of format 2
// is in use, else 1. Stores write a state in it (see state/statefile for
// why), so that an older patwatch still reads a state that needs nothing
// newer.
func FormatOf(st *State) int {
	if len(st.RetiredSearches) > 0 || len(st.RetiredReports) > 0 || st.Budget != nil || len(st.Outbox) > 0 {
		return 2
	}
	for _, s := range st.Searches {
		if !s.RefreshedAt.IsZero() {
			return 2
		}
	}
	for _, r := range st.Reports {
		if r.Submissions != 0 || !r.OutcomeUnknownAt.IsZero() {
			return 2
		}
	}
	return 1
}

// State is the content of a state, in any store. Its JSON tags are format
// 1's member names, to which a test of state/statefile holds the file's
// bytes; format 2's fields are hidden from encoding/json.
type State struct {
	FormatVersion   int    `json:"format_version"`
	Serial          uint64 `json:"serial"`  // grows by one on each save that changes content
	Lineage         string `json:"lineage"` // random id fixed when the state is first created
	PatwatchVersion string `json:"patwatch_version"`

	Searches map[string]*Search `json:"searches"` // by search name
	Reports  map[string]*Report `json:"reports"`  // by report name

	// The fields below need format 2.

	// RetiredSearches and RetiredReports hold entries removed from the
	// spec, by name, each with its RetiredAt: kept for RetentionPeriod so
	// that an entry added back gets its history back.
	RetiredSearches map[string]*Search `json:"-"`
	RetiredReports  map[string]*Report `json:"-"`
	// Budget counts the API calls of the current UTC day, when the spec
	// caps them (api.max_calls_per_day); nil otherwise.
	Budget *Budget `json:"-"`
	// Outbox holds the notification messages not yet accepted by their
	// channel, oldest first.
	Outbox []*Message `json:"-"`
}

// RetentionPeriod is how long a retired entry is kept.
const RetentionPeriod = 30 * 24 * time.Hour

// Budget is the count of API calls made on one UTC day.
type Budget struct {
	Day   string // yyyy-mm-dd, UTC
	Calls int
}

// Message is one notification for one channel, kept until the channel
// accepts it. Its ID and content never change, so a message sent again is
// the same message, which receivers can recognise.
type Message struct {
	ID          string
	Channel     string
	GeneratedAt time.Time // when the run that made it ran
	Spec        string    // the spec path as given to that run
	Simulated   bool      // made by a --sandbox run
	Events      []Event
	Attempts    int       // deliveries tried and failed
	FirstFailed time.Time // the first failed delivery; zero before one
	LastError   string    // why the last delivery failed
}

// Event is one thing a notification tells: a new or dropped hit, a report
// that finished or failed, an entry whose call failed.
type Event struct {
	Kind            string // new, dropped, finished, failed, error
	Search          string
	Report          string
	PatentPN        string
	Title           string
	Score           float64
	CurrentAssignee string
	Apdt, Pbdt      int
	Link            string
	Decision        string // a new or dropped hit's verdict (relevant, report); "" for none
	Patent          string
	File            string
	Error           string
}

// Search is what a search has recorded.
type Search struct {
	Fingerprint string          `json:"fingerprint"` // the spec's query fingerprint at baseline
	BaselineAt  time.Time       `json:"baseline_at"` // UTC, second precision
	Hits        map[string]*Hit `json:"hits"`        // by patent_pn

	// RefreshedAt is the last successful refresh of a search with its own
	// interval, or of any search under a daily budget (format 2); zero for
	// the others.
	RefreshedAt time.Time `json:"-"`
	// RetiredAt is when a retired search left the spec (format 2).
	RetiredAt time.Time `json:"-"`
}

// Hit is one recorded hit. It holds only stable facts: no presigned image
// URL and no score, which change between calls.
type Hit struct {
	FirstSeen       time.Time `json:"first_seen"`        // UTC, second precision
	Missing         int       `json:"missing,omitempty"` // consecutive successful runs without it
	PatentID        string    `json:"patent_id,omitempty"`
	Title           string    `json:"title,omitempty"`
	CurrentAssignee string    `json:"current_assignee,omitempty"`
	Apno            string    `json:"apno,omitempty"`
	Apdt            int       `json:"apdt,omitempty"` // yyyymmdd
	Pbdt            int       `json:"pbdt,omitempty"` // yyyymmdd
}

// Report statuses recorded in the state.
const (
	ReportPending    = "pending"    // a job was submitted and has not finished
	ReportFailed     = "failed"     // the last job failed; the next run submits again
	ReportDownloaded = "downloaded" // the file is on disk with SHA256
)

// Report is what a report has recorded. The presigned download URL is never
// stored: it grants access to the file and state files get committed to git.
// The job id is kept instead; a status call gives a fresh link.
type Report struct {
	PatentNumber  string    `json:"patent_number,omitempty"`
	PatentID      string    `json:"patent_id,omitempty"`
	Format        string    `json:"format"` // pdf or word
	Logo          bool      `json:"logo"`
	JobID         string    `json:"job_id,omitempty"` // exact decimal text
	Status        string    `json:"status"`           // ReportPending, ReportFailed or ReportDownloaded
	SubmittedAt   time.Time `json:"submitted_at"`
	LinkExpiresAt time.Time `json:"link_expires_at,omitzero"` // when the job's download link stops working
	File          string    `json:"file,omitempty"`           // relative to the state file's directory where possible
	SHA256        string    `json:"sha256,omitempty"`
	LastError     string    `json:"last_error,omitempty"`

	// Submissions counts the jobs submitted again for this request, since
	// a file of it was last downloaded, because the one before could not
	// be had: its download was refused even through a fresh link, or its
	// creation went unanswered (format 2). The reconciler caps them.
	Submissions int `json:"-"`
	// OutcomeUnknownAt is when a job's creation may have reached the API
	// without an answer (format 2): the job may exist on the account.
	OutcomeUnknownAt time.Time `json:"-"`
	// RetiredAt is when a retired report left the spec (format 2).
	RetiredAt time.Time `json:"-"`
}

// New returns an empty state with a fresh lineage.
func New() *State {
	return &State{
		FormatVersion: 1,
		Lineage:       newLineage(),
		Searches:      map[string]*Search{},
		Reports:       map[string]*Report{},
	}
}

// ErrLocked is matched by errors.Is for a state held by another run, in
// any store.
var ErrLocked = errors.New("state is locked")

// LockWaitedHint is the hint of a lock refused after waiting waited for
// its holder (--lock-timeout), in every store: passing --lock-timeout
// again would not help, waiting longer might.
func LockWaitedHint(waited time.Duration) string {
	return fmt.Sprintf("waited %s (--lock-timeout) and that run still holds the lock; it is released the moment that run ends, even if it dies: "+
		"wait longer with a larger --lock-timeout, or see whether that run is stuck", formatWait(waited))
}

// formatWait writes d as the durations of patwatch's flags do: 3s, 10m,
// 1h30m.
func formatWait(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Second {
		return "less than a second"
	}
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.unit)
			d -= n * u.d
		}
	}
	return b.String()
}

// ErrLockLost is matched by errors.Is for a lock its holder did not
// release but no longer holds (a database that restarted, or ended the
// lock's session): a store refuses to save under it.
var ErrLockLost = errors.New("the state's lock was lost")

// LockInfo is what a store's lock says about the run that holds it.
type LockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

// RunRecord describes one apply for a store that keeps a history of runs
// (the database store's runs table).
type RunRecord struct {
	Started, Finished time.Time
	Command           string // apply or watch
	Serial            uint64 // the state's serial after the run
	Changed           bool   // the change report is not empty
	StateChanged      bool   // the run wrote the state
	Summary           string // the change report's summary line
	CallsMade         int
	Failed            bool
}
