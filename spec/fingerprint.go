package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
)

// query is the canonical form of everything that defines a search's query.
// Its JSON encoding (fixed field order, no maps) is what the fingerprint
// hashes. Changing this struct changes every fingerprint, which rebaselines
// every search once: bump V when doing so on purpose.
type query struct {
	V                 int      `json:"v"`
	Images            []string `json:"images"`
	PatentType        string   `json:"patent_type"`
	Model             int      `json:"model"`
	Country           []string `json:"country"`
	LOC               string   `json:"loc"`
	LegalStatus       []int    `json:"legal_status"`
	SimpleLegalStatus []int    `json:"simple_legal_status"`
	ApplyStartTime    string   `json:"apply_start_time"`
	ApplyEndTime      string   `json:"apply_end_time"`
	PublicStartTime   string   `json:"public_start_time"`
	PublicEndTime     string   `json:"public_end_time"`
	Assignees         string   `json:"assignees"`
	MainField         string   `json:"main_field"`
	Lang              string   `json:"lang"`
	Field             string   `json:"field"`
	Order             string   `json:"order"`
	Stemming          *int     `json:"stemming"`
	PreFilter         *int     `json:"pre_filter"`
	MaxResults        int      `json:"max_results"`
	MinScore          string   `json:"min_score"` // shortest decimal form
}

// QueryFingerprint returns "sha256:" and the hex digest of s's canonical
// query: its images (a URL as written, a local file by the digest of its
// bytes, never its path), patent type, model, every filter, max_results and
// min_score. Name, drop_after and suspend do not count. Lists the API treats
// as sets (country, legal_status, simple_legal_status, and images except
// with model 1, where the first image drives the ranking) are sorted and
// de-duplicated first, so their order does not matter; an empty list counts
// as an unset one.
func QueryFingerprint(s Search) string {
	imgs := make([]string, 0, len(s.Images))
	for _, im := range s.Images {
		imgs = append(imgs, im.key())
	}
	if s.Model != 1 {
		imgs = sortedSet(imgs)
	}
	f := s.Filters
	q := query{
		V:                 1,
		Images:            imgs,
		PatentType:        s.PatentType,
		Model:             s.Model,
		Country:           sortedSet(f.Country),
		LOC:               f.LOC,
		LegalStatus:       sortedSet(f.LegalStatus),
		SimpleLegalStatus: sortedSet(f.SimpleLegalStatus),
		ApplyStartTime:    f.ApplyStartTime,
		ApplyEndTime:      f.ApplyEndTime,
		PublicStartTime:   f.PublicStartTime,
		PublicEndTime:     f.PublicEndTime,
		Assignees:         f.Assignees,
		MainField:         f.MainField,
		Lang:              f.Lang,
		Field:             f.Field,
		Order:             f.Order,
		Stemming:          f.Stemming,
		PreFilter:         f.PreFilter,
		MaxResults:        s.MaxResults,
		MinScore:          strconv.FormatFloat(s.MinScore, 'g', -1, 64),
	}
	// q holds only strings, ints and pointers to ints, which always encode.
	b, _ := json.Marshal(q)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// sortedSet returns the distinct elements of xs in order, or nil if none.
func sortedSet[T string | int](xs []T) []T {
	if len(xs) == 0 {
		return nil
	}
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
