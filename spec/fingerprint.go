package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/patwatch/patwatch/internal/patsnap"
)

// fingerprintVersion is the "v" of the canonical query. Bump it only to
// change every fingerprint on purpose: that rebaselines every search once.
const fingerprintVersion = 1

// QueryFingerprint returns "sha256:" and the hex digest of s's canonical
// query: its images (a URL as written, a local file by the digest of its
// bytes, never its path), patent type, model, every filter, max_results and
// min_score. Name, drop_after and suspend do not count. Lists the API treats
// as sets (the filters tagged set, and images except with model 1, where
// the first image drives the ranking) are sorted and de-duplicated first,
// so their order does not matter; an empty list counts as an unset one.
//
// The canonical query is one JSON object with its members in a fixed order:
//
//	{"v":1,"images":…,"patent_type":…,"model":…,<filters>,"max_results":…,"min_score":"0.5"}
//
// where <filters> is every filter in the order Filters declares them, by
// its JSON name; a filter of fingerprint version 1 (tagged v1) is there even
// when unset (as null or ""), a later one only when set, so that adding a
// filter changes no existing fingerprint. min_score is its shortest decimal
// text.
func QueryFingerprint(s Search) string {
	return queryFingerprint(s, patsnap.FilterFields())
}

// queryFingerprint is QueryFingerprint over the given description of
// Filters' fields.
func queryFingerprint(s Search, fields []patsnap.FilterField) string {
	imgs := make([]string, 0, len(s.Images))
	for _, im := range s.Images {
		imgs = append(imgs, im.key())
	}
	if s.Model != 1 {
		imgs = sortedSet(imgs)
	}
	var b bytes.Buffer
	b.WriteString(`{"v":` + strconv.Itoa(fingerprintVersion))
	member(&b, "images", imgs)
	member(&b, "patent_type", s.PatentType)
	member(&b, "model", s.Model)
	f := reflect.ValueOf(s.Filters)
	for _, ff := range fields {
		v, set := canonicalFilter(ff, f.Field(ff.Index))
		if set || ff.V1 {
			member(&b, ff.Name, v)
		}
	}
	member(&b, "max_results", s.MaxResults)
	member(&b, "min_score", strconv.FormatFloat(s.MinScore, 'g', -1, 64))
	b.WriteByte('}')
	sum := sha256.Sum256(b.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// canonicalFilter returns the value a filter contributes to the canonical
// query, and whether it is set. Codes are numbers here, not the wire's
// comma-joined string.
func canonicalFilter(ff patsnap.FilterField, v reflect.Value) (any, bool) {
	switch ff.Kind {
	case patsnap.FilterText:
		return v.String(), v.String() != ""
	case patsnap.FilterTexts:
		list := v.Interface().([]string)
		if ff.Set || len(list) == 0 {
			list = sortedSet(list)
		}
		return list, len(list) > 0
	case patsnap.FilterCodes:
		list := []int(v.Interface().(patsnap.Codes))
		if ff.Set || len(list) == 0 {
			list = sortedSet(list)
		}
		return list, len(list) > 0
	case patsnap.FilterInt:
		p := v.Interface().(*int)
		return p, p != nil
	}
	panic(fmt.Sprintf("spec: filter %s has a kind the fingerprint does not know", ff.Name))
}

// member appends `,"name":value` to b. Every value here (strings, ints,
// lists of them, a pointer to an int) encodes.
func member(b *bytes.Buffer, name string, v any) {
	key, _ := json.Marshal(name)
	val, _ := json.Marshal(v)
	b.WriteByte(',')
	b.Write(key)
	b.WriteByte(':')
	b.Write(val)
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
