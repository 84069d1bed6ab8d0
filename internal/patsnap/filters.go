package patsnap

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Filters are the P060/P061 search filters, defined once. The spec loader
// (package spec) decodes a search's filters mapping into them by their JSON
// names, the query fingerprint hashes their canonical form, and the client
// sends them as fields of the request body. The JSON names are the API's; an
// empty value is not sent.
//
// The filter tag states what a field means beyond its Go type, for every
// user of the type at once:
//
//   - set: a list whose order and repeats do not matter (the fingerprint
//     sorts and de-duplicates it).
//   - date: a yyyyMMdd calendar date (the loader refuses 20230229).
//   - start=NAME: the end of a date range that starts at filter NAME; the
//     end must not come before the start.
//   - v1: the filter was one of fingerprint version 1's, whose canonical
//     form holds it even when unset, so that those fingerprints stay as they
//     were. Never give it to a new filter: unset, a filter without v1 is left
//     out of the canonical form, so adding one changes no fingerprint.
//
// A field is a string, a []string, a Codes or a *int (nil: unset, so that 0
// can be sent). Adding a filter is adding a field here, its entry in the
// spec's JSON Schema (schema/spec.schema.json) and its row in docs/spec.md.
type Filters struct {
	Country           []string `json:"country,omitempty" filter:"set,v1"` // patent offices, e.g. US, EU, CN
	LOC               string   `json:"loc,omitempty" filter:"v1"`         // Locarno classification query
	LegalStatus       Codes    `json:"legal_status,omitempty" filter:"set,v1"`
	SimpleLegalStatus Codes    `json:"simple_legal_status,omitempty" filter:"set,v1"`
	ApplyStartTime    string   `json:"apply_start_time,omitempty" filter:"date,v1"`
	ApplyEndTime      string   `json:"apply_end_time,omitempty" filter:"date,start=apply_start_time,v1"`
	PublicStartTime   string   `json:"public_start_time,omitempty" filter:"date,v1"`
	PublicEndTime     string   `json:"public_end_time,omitempty" filter:"date,start=public_start_time,v1"`
	Assignees         string   `json:"assignees,omitempty" filter:"v1"`
	MainField         string   `json:"main_field,omitempty" filter:"v1"`
	Lang              string   `json:"lang,omitempty" filter:"v1"`  // original, cn or en
	Field             string   `json:"field,omitempty" filter:"v1"` // SCORE, APD, PBD or ISD
	Order             string   `json:"order,omitempty" filter:"v1"` // desc or asc, with Field other than SCORE
	Stemming          *int     `json:"stemming,omitempty" filter:"v1"`
	PreFilter         *int     `json:"pre_filter,omitempty" filter:"v1"`
}

// Codes is a list of numeric codes (legal statuses). It travels as the
// comma-joined string the API expects: [3, 2] is sent as "3,2".
type Codes []int

// MarshalJSON encodes c as the comma-joined string of its codes.
func (c Codes) MarshalJSON() ([]byte, error) {
	s := make([]string, len(c))
	for i, n := range c {
		s[i] = strconv.Itoa(n)
	}
	return []byte(strconv.Quote(strings.Join(s, ","))), nil
}

// FilterKind is the Go type of a filter.
type FilterKind int

// The kinds a filter may have.
const (
	FilterText  FilterKind = iota // string
	FilterTexts                   // []string
	FilterCodes                   // Codes
	FilterInt                     // *int
)

// FilterField describes one field of Filters, read from its tags.
type FilterField struct {
	Index int    // the field's index in Filters, for package reflect
	Name  string // the API's JSON name
	Kind  FilterKind
	Set   bool   // order and repeats do not matter
	Date  bool   // a yyyyMMdd calendar date
	Start string // for the end of a date range: the Name of its start
	V1    bool   // in the canonical form even when unset
}

// FilterFields returns the fields of Filters in their declared order.
func FilterFields() []FilterField { return slices.Clone(filterFields) }

// filterFields is read once; a field the rules above do not allow stops
// every program and test at start-up rather than being sent wrongly.
var filterFields = mustFilterFields(reflect.TypeFor[Filters]())

// bodyFields are the request body's own fields, which no filter may shadow.
var bodyFields = []string{"url", "urls", "patent_type", "model", "limit", "offset", "is_https"}

func mustFilterFields(t reflect.Type) []FilterField {
	fields, err := readFilterFields(t)
	if err != nil {
		panic("patsnap.Filters: " + err.Error())
	}
	return fields
}

func readFilterFields(t reflect.Type) ([]FilterField, error) {
	kinds := map[reflect.Type]FilterKind{
		reflect.TypeFor[string]():   FilterText,
		reflect.TypeFor[[]string](): FilterTexts,
		reflect.TypeFor[Codes]():    FilterCodes,
		reflect.TypeFor[*int]():     FilterInt,
	}
	var out []FilterField
	byName := map[string]int{}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" || opts != "omitempty" {
			return nil, fmt.Errorf("field %s needs a json tag `json:\"NAME,omitempty\"`", sf.Name)
		}
		if _, dup := byName[name]; dup || slices.Contains(bodyFields, name) {
			return nil, fmt.Errorf("field %s: json name %q is already taken", sf.Name, name)
		}
		kind, ok := kinds[sf.Type]
		if !ok {
			return nil, fmt.Errorf("field %s is a %s; a filter is a string, []string, Codes or *int", sf.Name, sf.Type)
		}
		f := FilterField{Index: i, Name: name, Kind: kind}
		for _, opt := range strings.Split(sf.Tag.Get("filter"), ",") {
			switch k, v, _ := strings.Cut(opt, "="); k {
			case "":
			case "set":
				f.Set = true
			case "date":
				f.Date = true
			case "start":
				f.Start = v
			case "v1":
				f.V1 = true
			default:
				return nil, fmt.Errorf("field %s: unknown filter tag option %q", sf.Name, opt)
			}
		}
		switch {
		case f.Set && kind != FilterTexts && kind != FilterCodes:
			return nil, fmt.Errorf("field %s: only a list can be a set", sf.Name)
		case f.Date && kind != FilterText:
			return nil, fmt.Errorf("field %s: a date is a string", sf.Name)
		case f.Start != "" && !f.Date:
			return nil, fmt.Errorf("field %s: only a date can end a range", sf.Name)
		}
		byName[name] = len(out)
		out = append(out, f)
	}
	for _, f := range out {
		if f.Start == "" {
			continue
		}
		if i, ok := byName[f.Start]; !ok || !out[i].Date {
			return nil, fmt.Errorf("filter %s: start=%s names no date filter", f.Name, f.Start)
		}
	}
	return out, nil
}
