// Package state is patwatch's memory of every watch: the hits each search has
// recorded and the jobs and files of each report, kept in a versioned JSON
// file that is written atomically, deterministically (equal content, equal
// bytes) and under an OS file lock.
package state

import "time"

// FormatVersion is the state file format this build reads and writes.
const FormatVersion = 1

// State is the content of a state file.
type State struct {
	FormatVersion   int    `json:"format_version"`
	Serial          uint64 `json:"serial"`  // grows by one on each save that changes content
	Lineage         string `json:"lineage"` // random id fixed when the state is first created
	PatwatchVersion string `json:"patwatch_version"`

	Searches map[string]*Search `json:"searches"` // by search name
	Reports  map[string]*Report `json:"reports"`  // by report name
}

// Search is what a search has recorded.
type Search struct {
	Fingerprint string          `json:"fingerprint"` // the spec's query fingerprint at baseline
	BaselineAt  time.Time       `json:"baseline_at"` // UTC, second precision
	Hits        map[string]*Hit `json:"hits"`        // by patent_pn
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
}

// New returns an empty state with a fresh lineage.
func New() *State {
	return &State{
		FormatVersion: FormatVersion,
		Lineage:       newLineage(),
		Searches:      map[string]*Search{},
		Reports:       map[string]*Report{},
	}
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
