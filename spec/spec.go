// Package spec loads a patwatch watch list (a YAML file) into typed values.
//
// A spec passes through one pipeline: bytes, a yaml.Node tree, a sanitising
// walk that rejects what JSON Schema cannot hold (non-string keys, NaN and
// infinities, custom tags, several documents), validation against the
// embedded JSON Schema (package schema), and semantic checks the schema cannot
// express. Every problem found is reported at once, located as
// FILE:LINE:COL with the field's path.
package spec

import (
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
)

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
	QPS     float64 // requests per second; patsnap.DefaultQPS when the spec sets none
}

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
