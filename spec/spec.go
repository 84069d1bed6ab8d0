// Package spec loads a patwatch watch list (a YAML file) into typed values.
//
// A spec passes through one pipeline: bytes, a yaml.Node tree, a sanitising
// walk that rejects what JSON Schema cannot hold (non-string keys, NaN and
// infinities, custom tags, several documents), validation against the
// embedded JSON Schema (package schema), and semantic checks the schema cannot
// express. Every problem found is reported at once, located as
// FILE:LINE:COL with the field's path.
package spec

import "time"

// Spec is a loaded, validated watch list with defaults applied.
type Spec struct {
	// Path is the absolute path of the spec file; Dir is its directory,
	// against which relative image paths were resolved.
	Path string
	Dir  string

	Version  int
	Interval time.Duration // zero when the spec sets none
	API      API
	Searches []Search // in file order
	Reports  []Report // in file order
}

// API holds the optional api section.
type API struct {
	BaseURL string  // empty when the spec sets none
	QPS     float64 // requests per second; DefaultQPS when the spec sets none
}

// DefaultQPS is the client-side request rate cap used when the spec sets none.
const DefaultQPS = 5

// Search is one saved image search.
type Search struct {
	Name       string
	Images     []Image // one for image:, two to four for images:
	PatentType string  // "D" or "U"
	Model      int     // 1 or 2 for D, 3 or 4 for U
	Filters    Filters
	MaxResults int     // hits to keep; DefaultMaxResults when unset
	MinScore   float64 // hits scoring lower are ignored; 0 means no floor
	DropAfter  int     // successful runs missing before a hit is dropped; default 1
	Suspend    bool    // true: no API call, reported as suspended

	// Fingerprint is a stable hash of everything that defines the query.
	// It changes exactly when the query changes.
	Fingerprint string

	Line int // where the search starts in the spec, for messages
}

// DefaultMaxResults is the number of hits kept when max_results is unset.
const DefaultMaxResults = 100

// MaxReachableResults is the most ranked hits paging can reach:
// offset at most 1000 plus limit at most 100.
const MaxReachableResults = 1100

// Image is one query image: either a URL, or a local file that is uploaded.
type Image struct {
	URL  string // set for a remote image
	Path string // absolute path of a local image file; empty for a URL
	// SHA256 is the hex digest of a local file's bytes, read at load time.
	SHA256 string
}

// Local reports whether the image is a local file.
func (i Image) Local() bool { return i.Path != "" }

// Filters are the P060/P061 filters, with the API's names and meanings.
// Empty values are not sent.
type Filters struct {
	Country           []string // patent offices, e.g. US, EU, CN
	LOC               string   // Locarno classification query
	LegalStatus       []int
	SimpleLegalStatus []int
	ApplyStartTime    string // yyyyMMdd
	ApplyEndTime      string
	PublicStartTime   string
	PublicEndTime     string
	Assignees         string
	MainField         string
	Lang              string // original, cn or en
	Field             string // SCORE, APD, PBD or ISD
	Order             string // desc or asc, with Field other than SCORE
	Stemming          *int   // 0 or 1; nil leaves the API's default
	PreFilter         *int   // 0 or 1; nil leaves the API's default
}

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
