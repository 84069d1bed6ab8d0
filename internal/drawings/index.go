package drawings

import (
	"time"

	"github.com/patwatch/patwatch/state"
)

// IndexVersion is the format of the index this build reads and writes.
const IndexVersion = 1

// Retention is how long the drawings of hits that no search holds any more
// are kept: the 30 days for which a search removed from the spec is retired
// rather than forgotten (README.md, "What a run does"), so that a search added back
// within that time finds its drawings again.
const Retention = 30 * 24 * time.Hour

// Index records, for one state, which thumbnail each hit and each query
// image has. It lives beside the thumbnails, not in the state file: the
// state stays small and diffable, and losing the index loses only pictures.
type Index struct {
	FormatVersion int                `json:"format_version"`
	Searches      map[string]*Search `json:"searches"` // by search name
}

// Search is what the index records for one search.
type Search struct {
	Query Query `json:"query"`
	// GoneSince is when the state stopped holding the search (it left the
	// spec); zero while the state holds it.
	GoneSince time.Time       `json:"gone_since,omitzero"`
	Hits      map[string]*Hit `json:"hits"` // by patent_pn
}

// Query describes a search's query for a page: its filters in one line and
// its images.
type Query struct {
	Line   string       `json:"line,omitempty"`
	Images []QueryImage `json:"images,omitempty"`
}

// QueryImage is one query image and its thumbnail.
type QueryImage struct {
	// Key identifies the image: its URL, or "sha256:<hex>" of a local
	// file's bytes. Name is how a page names it (a file's base name, a
	// URL's host and path).
	Key  string `json:"key"`
	Name string `json:"name"`
	// Thumb is zero when the image could not be read or fetched; Error
	// says why, and the next apply tries again.
	Thumb Ref    `json:"thumb,omitzero"`
	Error string `json:"error,omitempty"`
	// Validators are those of the answer Thumb was made from, when its
	// server sent any: an apply asks for the image again only if it
	// changed.
	Validators
}

// Hit is what the index records for one hit of a search.
type Hit struct {
	// Want says the hit's drawing is kept: it was new, or among the best
	// ranked at a baseline. A wanted drawing that is missing is fetched by
	// every apply that sees the hit, with the link of that run.
	Want    bool `json:"want,omitempty"`
	Drawing Ref  `json:"drawing,omitzero"`
	// Error says why the last fetch failed, while Drawing is zero.
	Error     string    `json:"error,omitempty"`
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	// Score is the hit's score when first seen (the state keeps none), so
	// that a gallery can show the best first. It is not updated: the index
	// changes only when hits and drawings do, and so diffs cleanly in git.
	Score float64 `json:"score,omitempty"`
	// GoneSince is when the hit's search stopped holding it (it was
	// dropped); zero while held.
	GoneSince time.Time `json:"gone_since,omitzero"`
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{FormatVersion: IndexVersion, Searches: map[string]*Search{}}
}

// Search returns the entry of the search name, created when there is none.
func (x *Index) Search(name string) *Search {
	s := x.Searches[name]
	if s == nil {
		s = &Search{Hits: map[string]*Hit{}}
		x.Searches[name] = s
	}
	if s.Hits == nil {
		s.Hits = map[string]*Hit{}
	}
	return s
}

// Hit returns the entry of the hit pn, created when there is none.
func (s *Search) Hit(pn string) *Hit {
	h := s.Hits[pn]
	if h == nil {
		h = &Hit{}
		s.Hits[pn] = h
	}
	return h
}

// Rename moves the entry of a search renamed in the spec (its recorded hits
// carried over) to its new name.
func (x *Index) Rename(from, to string) {
	if s, ok := x.Searches[from]; ok && from != to {
		x.Searches[to] = s
		delete(x.Searches, from)
	}
}

// Retain follows st: entries of searches and hits st holds are kept (and
// marked held again), the others are marked gone from now on and removed
// once they have been gone for Retention.
func (x *Index) Retain(st *state.State, now time.Time) {
	now = now.UTC().Truncate(time.Second)
	gone := func(since *time.Time, held bool) (expired bool) {
		switch {
		case held:
			*since = time.Time{}
		case since.IsZero():
			*since = now
		}
		return !held && now.Sub(*since) >= Retention
	}
	for name, s := range x.Searches {
		rec := st.Searches[name]
		if gone(&s.GoneSince, rec != nil) {
			delete(x.Searches, name)
			continue
		}
		for pn, h := range s.Hits {
			held := false
			if rec != nil {
				_, held = rec.Hits[pn]
			}
			if gone(&h.GoneSince, held) {
				delete(s.Hits, pn)
			}
		}
	}
}

// Refs returns the digest of every thumbnail the index names.
func (x *Index) Refs() map[string]bool {
	out := map[string]bool{}
	for _, s := range x.Searches {
		for _, q := range s.Query.Images {
			if !q.Thumb.IsZero() {
				out[q.Thumb.SHA256] = true
			}
		}
		for _, h := range s.Hits {
			if !h.Drawing.IsZero() {
				out[h.Drawing.SHA256] = true
			}
		}
	}
	return out
}
