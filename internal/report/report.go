// Package report is the change report of a run: what each search and
// report did, as typed statuses, what of it failed (Failure), and the
// renderers that turn it into text, markdown, JSON or an HTML page (Render,
// RenderStream; RenderHTML for the page with the drawings); RenderGallery
// draws every hit a state holds. The reconciler builds a ChangeReport;
// commands render it. A new format is one renderer file here and its row in
// formats (formats.go), from which --format lists its choices (Formats).
// The notification digests are notify's.
package report

import "time"

// ReportFormatVersion is the version of the JSON change report's shape.
const ReportFormatVersion = "1"

// SearchStatus is what happened to a search in a run, as the JSON change
// report spells it.
type SearchStatus string

// Search statuses in a change report.
const (
	StatusOK         SearchStatus = "ok"         // refreshed; new and dropped hits listed
	StatusBaseline   SearchStatus = "baseline"   // first run of the search: hits recorded, none reported new
	StatusRebaseline SearchStatus = "rebaseline" // the query changed: hits recorded afresh
	StatusError      SearchStatus = "error"      // the search or report call failed; nothing changed
	StatusRemoved    SearchStatus = "removed"    // no longer in the spec; its record retired in the state
	StatusSuspended  SearchStatus = "suspended"  // suspend: true; not called
	StatusSkipped    SearchStatus = "skipped"    // outside the run's --target/--exclude selection; untouched
)

// ReportStatus is what happened to a value report in a run, as the JSON
// change report spells it.
type ReportStatus string

// Report statuses in a change report. After apply they say what happened;
// in a plan, what apply would do (ReportSubmit, ReportDownload).
const (
	ReportSubmitted ReportStatus = "submitted" // a job was created this run
	ReportPending   ReportStatus = "pending"   // the job is still running
	ReportFinished  ReportStatus = "finished"  // the file was downloaded this run
	ReportReady     ReportStatus = "ready"     // the file was downloaded in an earlier run and is intact
	ReportFailed    ReportStatus = "failed"    // the job failed this run; the next apply submits again
	ReportRemoved   ReportStatus = "removed"
	ReportError     ReportStatus = "error"
	ReportSuspended ReportStatus = "suspended"
	ReportSkipped   ReportStatus = "skipped"  // outside the run's selection; untouched
	ReportSubmit    ReportStatus = "submit"   // plan: apply would submit a job
	ReportDownload  ReportStatus = "download" // plan: apply would download the finished file
)

// ChangeReport is what a run found: the JSON change report of README.md's
// "Change reports", and the model the text and markdown renderers draw.
type ChangeReport struct {
	FormatVersion string `json:"format_version"`
	Command       string `json:"command"`
	// GeneratedAt is when the run made the report, in UTC to the second.
	GeneratedAt time.Time `json:"generated_at"`
	// PatwatchVersion is the version of the patwatch that ran.
	PatwatchVersion string `json:"patwatch_version"`
	// Spec is the spec's path as the command line gave it.
	Spec string `json:"spec"`
	// Simulated marks a run against the sandbox's simulated API.
	Simulated bool `json:"simulated"`
	// Trigger, in watch mode, is what started the run: start, schedule,
	// spec changed, reload or report poll.
	Trigger string `json:"trigger,omitempty"`
	// ReportsOnly marks a run that only polled report jobs (watch mode
	// between full runs): it lists no searches.
	ReportsOnly bool `json:"reports_only,omitempty"`
	Changed     bool `json:"changed"`
	// Offline marks a plan made from the spec and the state alone, without
	// the API: it has no totals, no new or dropped hits.
	Offline bool `json:"offline,omitempty"`
	// StateChanged says the run wrote the state file. It can be true when
	// Changed is not: a hit missing for fewer than drop_after runs is
	// counted in the state but not reported. Schedulers that commit the
	// state should go by this (or by the file), not by Changed.
	StateChanged bool `json:"state_changed"`
	// Stopped, when set, says why the run stopped before it was done: an
	// account-wide API error, after which every further call would have
	// failed alike. The entries it left undone say so in their error.
	Stopped  *Stop          `json:"stopped,omitempty"`
	Searches []SearchChange `json:"searches"`
	Reports  []ReportChange `json:"reports"`
	// Notifications says what became of each notification channel's
	// messages in an apply or watch run; absent when none had any.
	Notifications []NotificationChange `json:"notifications,omitempty"`
	// Calls counts the run's API calls: the worst case it was allowed to
	// make, and what it made.
	Calls Calls `json:"calls"`
}

// Calls is what a run spends of the API: Estimated is the most calls it
// could make (the worst case api.max_calls is checked against), Made the
// calls the API client sent. An offline plan calls nothing and has no Made:
// its estimate is that of the apply it previews.
type Calls struct {
	Estimated int  `json:"estimated"`
	Made      *int `json:"made,omitempty"`
	// PerDay is, in an offline plan, what the change does to the watch
	// list's calls per day.
	PerDay *PerDay `json:"per_day,omitempty"`
}

// PerDay is an estimate of the watch list's calls per day (each search's
// pages times its runs a day, on its own interval, else the spec's, else
// hourly): how the change moves it, the spec's total, and the spec's
// daily budget (api.max_calls_per_day; 0: none).
type PerDay struct {
	Change int `json:"change"`
	Total  int `json:"total"`
	Budget int `json:"budget,omitempty"`
	// Unknown counts the removed or changed searches whose earlier query
	// is not known (see plan --offline), left out of Change.
	Unknown int `json:"unknown,omitempty"`
}

// OverBudget reports whether the spec's calls per day pass its daily
// budget.
func (p *PerDay) OverBudget() bool {
	return p != nil && p.Budget > 0 && p.Total > p.Budget
}

// NotDoneStopped is the error of an entry left undone because the run
// stopped at an account-wide error (Stop).
const NotDoneStopped = "not done: the run stopped at an account-wide error"

// Stop is why a run stopped early, and what to check.
type Stop struct {
	Error string `json:"error"`
	Check string `json:"check"`
}

// NotificationStatus is what became of a channel's messages in a run.
type NotificationStatus string

// Notification statuses in a change report.
const (
	NotificationDelivered NotificationStatus = "delivered" // the channel accepted every message
	NotificationFailed    NotificationStatus = "failed"    // a delivery failed: see kept and dropped
	NotificationPending   NotificationStatus = "pending"   // the run ended before they were sent
	NotificationRemoved   NotificationStatus = "removed"   // the channel left the spec: its messages were dropped
)

// NotificationChange is one channel's part of a change report: the ids of
// the messages it accepted, of those kept in the state for the next run,
// and of those given up (undeliverable for 7 days, or of a channel no
// longer in the spec).
type NotificationChange struct {
	Channel   string             `json:"channel"`
	Status    NotificationStatus `json:"status"`
	Delivered []string           `json:"delivered"`
	Kept      []string           `json:"kept"`
	Dropped   []string           `json:"dropped"`
	Error     string             `json:"error"`
}

// SearchChange is one search's part of a change report.
type SearchChange struct {
	Name    string       `json:"name"`
	Status  SearchStatus `json:"status"`
	Error   string       `json:"error"`
	Total   int          `json:"total"` // the API's total_search_result_count; 0 when not called
	Hits    int          `json:"hits"`  // hits the state holds for it after the run
	New     []HitChange  `json:"new"`
	Dropped []HitChange  `json:"dropped"`
	// Missing counts hits absent this run but not yet dropped (drop_after).
	Missing int `json:"missing,omitempty"`
	// Suppressed counts this run's new and dropped hits that a
	// not_relevant decision silenced: recorded, never listed in New or
	// Dropped, never notified.
	Suppressed int `json:"suppressed"`
	// RenamedFrom is the search's former name, when it was renamed in the
	// spec with its query unchanged: its recorded hits carried over.
	RenamedFrom string `json:"renamed_from,omitempty"`
	// Restored marks a search added back to the spec with the query it had
	// when it was removed: its retired record came back, with no new
	// baseline.
	Restored bool `json:"restored,omitempty"`
	// Reason says why a skipped search was left out of the run: not
	// selected by --target or --exclude, untouched by a spec change, or
	// not due on its own interval.
	Reason string `json:"reason,omitempty"`
	// QueryChanges says, in an offline plan, how a rebaselined search's
	// query changed, field by field ("model 2 → 1", "filters.country
	// +JP"), when the query its record was made with is known.
	QueryChanges []string `json:"query_changes,omitempty"`
	// RetiredUntil is, in an offline plan, until when a removed search's
	// record is kept for taking back.
	RetiredUntil *time.Time `json:"retired_until,omitempty"`
	// Deferred marks an error that is the daily budget
	// (api.max_calls_per_day) holding the search for the next UTC day: no
	// call was made, and notifications leave it out, since it would
	// repeat with every run until then.
	Deferred bool `json:"deferred,omitempty"`
}

// HitChange is one new or dropped hit. Dropped hits carry no score or image:
// those are not kept in the state.
type HitChange struct {
	PatentPN        string  `json:"patent_pn"`
	Title           string  `json:"title"`
	Score           float64 `json:"score,omitempty"`
	CurrentAssignee string  `json:"current_assignee"`
	Apdt            int     `json:"apdt"`
	Pbdt            int     `json:"pbdt"`
	ImageURL        string  `json:"image_url,omitempty"`
	PatentID        string  `json:"patent_id,omitempty"`
	// Link is the hit's durable link from the spec's links.patent; empty
	// when the spec sets none.
	Link string `json:"link"`
	// Decision is the analyst's verdict on the hit in its search (the
	// decisions file): relevant or report; "" when none holds.
	Decision string `json:"decision"`
}

// ReportChange is one report's part of a change report.
type ReportChange struct {
	Name     string       `json:"name"`
	Patent   string       `json:"patent"`
	Status   ReportStatus `json:"status"`
	JobID    string       `json:"job_id"`
	File     string       `json:"file"`
	Error    string       `json:"error"`
	QueueNum int          `json:"queue_num,omitempty"` // the job's place in PatSnap's queue, while pending
	// RenamedFrom is the report's former name, when it was renamed in the
	// spec with its request unchanged: its job and file carried over.
	RenamedFrom string `json:"renamed_from,omitempty"`
	// Reason says, in a plan, why a job would be submitted when one was
	// submitted before: the report's format, patent or logo changed, or
	// its last job failed; for a skipped report, why it was left out.
	Reason string `json:"reason,omitempty"`
	// Restored marks a report added back to the spec with the request it
	// had when it was removed: its retired job and file came back.
	Restored bool `json:"restored,omitempty"`
	// RetiredUntil is, in an offline plan, until when a removed report's
	// job and file are kept for taking back.
	RetiredUntil *time.Time `json:"retired_until,omitempty"`
	// Deferred marks an error that is the daily budget holding the report
	// for the next UTC day (see SearchChange.Deferred).
	Deferred bool `json:"deferred,omitempty"`
	// Origin says where the report comes from: the spec (OriginSpec), a
	// search's auto_report (OriginAuto, with Search and Score), or a
	// decision (OriginDecision).
	Origin string `json:"origin"`
	// Search and Score, for an automatic report, are the search whose hit
	// asked for it and the hit's score in this run's answer (0: not
	// refreshed in this run).
	Search string  `json:"search,omitempty"`
	Score  float64 `json:"score,omitempty"`
}

// Where a report comes from (ReportChange.Origin).
const (
	OriginSpec     = "spec"     // declared in the spec's reports
	OriginAuto     = "auto"     // a search's auto_report, for a new hit
	OriginDecision = "decision" // a decision with verdict report
)

// changed reports whether a search's part counts as a change.
func (s SearchChange) changed() bool {
	switch s.Status {
	case StatusBaseline, StatusRebaseline, StatusRemoved:
		return true
	}
	return len(s.New) > 0 || len(s.Dropped) > 0 || s.RenamedFrom != "" || s.Restored
}

// changed reports whether a report's part counts as a change.
func (r ReportChange) changed() bool {
	switch r.Status {
	case ReportSubmitted, ReportFinished, ReportFailed, ReportRemoved, ReportSubmit, ReportDownload:
		return true
	}
	return r.RenamedFrom != "" || r.Restored
}

// Failed reports whether any search or report failed in the run: a call
// that failed, or a report job that ended in failure.
func (c *ChangeReport) Failed() bool {
	for _, s := range c.Searches {
		if s.Status == StatusError {
			return true
		}
	}
	for _, r := range c.Reports {
		if r.Status == ReportError || r.Status == ReportFailed {
			return true
		}
	}
	return false
}

// finish sets Changed from the parts and makes empty lists non-nil so that
// the JSON shows [] rather than null.
func (c *ChangeReport) Finish() {
	c.FormatVersion = ReportFormatVersion
	c.Changed = false
	if c.Searches == nil {
		c.Searches = []SearchChange{}
	}
	if c.Reports == nil {
		c.Reports = []ReportChange{}
	}
	for i := range c.Searches {
		s := &c.Searches[i]
		if s.New == nil {
			s.New = []HitChange{}
		}
		if s.Dropped == nil {
			s.Dropped = []HitChange{}
		}
		c.Changed = c.Changed || s.changed()
	}
	for _, r := range c.Reports {
		c.Changed = c.Changed || r.changed()
	}
}
