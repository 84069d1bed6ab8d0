// Package spec loads a patwatch watch list (a YAML file) into typed values,
// with its decisions file (the analyst's verdicts on hits, decisions.go),
// and edits that file the way a person would (Mark).
//
// A spec passes through one pipeline: bytes, a yaml.Node tree, a sanitising
// walk that rejects what JSON Schema cannot hold (non-string keys, NaN and
// infinities, custom tags, several documents), validation against the
// embedded JSON Schema (package schema), and semantic checks the schema cannot
// express. Every problem found is reported at once, located as
// FILE:LINE:COL with the field's path.
package spec

import (
	"net/url"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
)

// Spec is a loaded, validated watch list with defaults applied.
type Spec struct {
	// Path is the absolute path of the spec file; Dir is its directory,
	// against which relative image paths were resolved.
	Path string
	Dir  string
	// SHA256 is the hex digest of the bytes the spec was parsed from: a
	// saved plan is applied only to the spec it was made from.
	SHA256 string

	Version  int
	Interval time.Duration // zero when the spec sets none
	API      API
	Searches []Search // in file order
	Reports  []Report // in file order
	Links    Links
	Notify   []Channel // in file order
	// Decisions is the spec's decisions file (never nil once loaded):
	// the analyst's verdicts on hits, which the runs and reports follow.
	Decisions *Decisions
}

// API holds the optional api section.
type API struct {
	BaseURL string  // empty when the spec sets none
	QPS     float64 // requests per second; patsnap.DefaultQPS when the spec sets none
	// MaxCalls caps a run's worst-case API calls; 0: no cap.
	MaxCalls int
	// MaxCallsPerDay caps the calls of all runs on a state in one UTC day;
	// 0: no cap.
	MaxCallsPerDay int
}

// Links holds the durable link templates of the links section.
type Links struct {
	// Patent is a URL template with {patent_pn} and/or {patent_id};
	// DefaultPatentLink when the spec sets none.
	Patent string
}

// DefaultPatentLink is links.patent when the spec sets none: Espacenet's
// search by publication number, public and durable, which finds the
// numbers of the offices the image search returns.
const DefaultPatentLink = "https://worldwide.espacenet.com/patent/search?q=pn%3D{patent_pn}"

// Channel is one notification channel of the notify section.
type Channel struct {
	Name      string
	URLEnv    string   // the environment variable holding the URL; or
	URL       string   // the URL itself, which CheckChannelURL accepted
	SecretEnv string   // webhooks: the environment variable holding the HMAC key
	On        []string // event kinds; never empty: the default is every kind
	Searches  []string // only events of these entries; empty: all
	MinScore  float64  // only new hits scoring at least this; 0: all

	Line int
	// URLLine and URLCol locate the value of url_env when set, else of
	// url; 0 when it is not in the spec.
	URLLine, URLCol int
}

// EventKinds are the notification event kinds a channel can ask for, and
// the default of a channel's on list.
var EventKinds = []string{"new", "dropped", "finished", "failed", "error"}

// Search is one saved image search.
type Search struct {
	Name       string
	Images     []Image // one for image:, two to four for images:
	PatentType string  // "D" or "U"
	Model      int     // 1 or 2 for D, 3 or 4 for U
	Filters    Filters
	MaxResults int     // hits to keep; patsnap.DefaultMaxResults when unset
	MinScore   float64 // hits scoring lower are ignored; 0 means no floor
	DropAfter  int     // successful runs missing before a hit is dropped; default 1
	Suspend    bool    // true: no API call, reported as suspended
	// Interval is the search's own refresh period; zero follows the spec's.
	Interval time.Duration
	// AllowMassDrop accepts a run that drops more than half of the hits
	// at once, which is otherwise held as an error.
	AllowMassDrop bool
	// AutoReport, when set, orders a value report for each new hit that
	// meets it (utility-model searches only); nil: none.
	AutoReport *AutoReport

	// Fingerprint is a stable hash of everything that defines the query.
	// It changes exactly when the query changes.
	Fingerprint string

	Line int // where the search starts in the spec, for messages
}

// Image is one query image: either a URL, or a local file that is uploaded.
type Image struct {
	URL  string // set for a remote image
	Path string // absolute path of a local image file; empty for a URL
	// SHA256 is the hex digest of a local file's bytes, read at load time.
	SHA256 string
}

// Local reports whether the image is a local file.
func (i Image) Local() bool { return i.Path != "" }

// Filters are the P060/P061 filters, with the API's names and meanings,
// defined once in package patsnap (the spec sits above the client, never
// the reverse).
type Filters = patsnap.Filters

// Report is one required patent value report.
type Report struct {
	Name         string
	PatentNumber string // exactly one of PatentNumber and PatentID is set
	PatentID     string
	Format       string // "pdf" or "word"
	Logo         bool   // false uses the no-logo endpoint; default true
	Suspend      bool

	Line int
}

// Patent returns the report's patent number, or its patent id.
func (r Report) Patent() string {
	if r.PatentNumber != "" {
		return r.PatentNumber
	}
	return r.PatentID
}

// Ext returns the file extension of the report's format, with the dot.
func (r Report) Ext() string {
	if r.Format == "word" {
		return ".docx"
	}
	return ".pdf"
}

// PatentURL fills the patent link template with a hit's publication number
// and patent id (query-escaped); it is "" when the spec sets no template.
func (l Links) PatentURL(pn, id string) string {
	if l.Patent == "" {
		return ""
	}
	return strings.NewReplacer("{patent_pn}", url.QueryEscape(pn), "{patent_id}", url.QueryEscape(id)).Replace(l.Patent)
}
