package spec

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/patwatch/patwatch/internal/patsnap"
)

// QueryChanges says how the query of search after differs from before's,
// field by field, in the terms of the fingerprint (QueryFingerprint): what
// the fingerprint ignores (an order the API does not read, an empty list
// against an unset one) is no change. A value is "old → new" ("model 2 →
// 1"), a list the API reads as a set what it gains and loses
// ("filters.country +JP −EU"), and a local image whose bytes changed says
// so. It is empty when the queries are the same.
func QueryChanges(before, after Search) []string {
	var out []string
	change := func(name, old, new string) {
		if old != new {
			out = append(out, fmt.Sprintf("%s %s → %s", name, old, new))
		}
	}
	out = append(out, imageChanges(before, after)...)
	change("patent_type", before.PatentType, after.PatentType)
	change("model", strconv.Itoa(before.Model), strconv.Itoa(after.Model))
	b, a := reflect.ValueOf(before.Filters), reflect.ValueOf(after.Filters)
	for _, ff := range patsnap.FilterFields() {
		ov, _ := canonicalFilter(ff, b.Field(ff.Index))
		nv, _ := canonicalFilter(ff, a.Field(ff.Index))
		name := "filters." + ff.Name
		switch {
		case ff.Set && (ff.Kind == patsnap.FilterTexts || ff.Kind == patsnap.FilterCodes):
			if d := setChange(shown(ov), shown(nv)); d != "" {
				out = append(out, name+" "+d)
			}
		default:
			change(name, shownValue(ov), shownValue(nv))
		}
	}
	change("max_results", strconv.Itoa(before.MaxResults), strconv.Itoa(after.MaxResults))
	change("min_score", strconv.FormatFloat(before.MinScore, 'g', -1, 64), strconv.FormatFloat(after.MinScore, 'g', -1, 64))
	return out
}

// imageChanges is the change of the query images: the list that changed,
// or the local images whose bytes did.
func imageChanges(before, after Search) []string {
	name := "image"
	if len(before.Images) > 1 || len(after.Images) > 1 {
		name = "images"
	}
	keys := func(s Search) []string {
		var out []string
		for _, im := range s.Images {
			out = append(out, im.key())
		}
		if s.Model != 1 {
			out = sortedSet(out)
		}
		return out
	}
	if slices.Equal(keys(before), keys(after)) {
		return nil
	}
	names := func(s Search) string {
		var out []string
		for _, im := range s.Images {
			out = append(out, im.shown())
		}
		return strings.Join(out, ", ")
	}
	if old, new := names(before), names(after); old != new {
		return []string{fmt.Sprintf("%s %s → %s", name, old, new)}
	}
	return []string{fmt.Sprintf("%s %s: the file's content changed", name, names(after))}
}

// shown is how a change names an image: its URL, or its file's name.
func (i Image) shown() string {
	if i.Local() {
		return filepath.Base(i.Path)
	}
	return i.URL
}

// shown lists the elements of a canonical list value as text.
func shown(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []int:
		out := make([]string, len(l))
		for i, n := range l {
			out[i] = strconv.Itoa(n)
		}
		return out
	}
	return nil
}

// shownValue writes a canonical filter value: (unset), a quoted text, a
// number, a list in brackets.
func shownValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return "(unset)"
		}
		return strconv.Quote(x)
	case *int:
		if x == nil {
			return "(unset)"
		}
		return strconv.Itoa(*x)
	case []string, []int:
		if l := shown(x); len(l) > 0 {
			return "[" + strings.Join(l, ", ") + "]"
		}
		return "(unset)"
	}
	return fmt.Sprint(v)
}

// setChange is what the set after gains and loses against before: "+JP
// −EU"; "" when they are the same.
func setChange(before, after []string) string {
	var parts []string
	for _, x := range after {
		if !slices.Contains(before, x) {
			parts = append(parts, "+"+x)
		}
	}
	for _, x := range before {
		if !slices.Contains(after, x) {
			parts = append(parts, "−"+x)
		}
	}
	return strings.Join(parts, " ")
}
