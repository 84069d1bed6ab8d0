package patsnap

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestFilterFields: the filters of fingerprint version 1 are exactly the
// fifteen it was defined with, in their order; later filters may follow.
func TestFilterFields(t *testing.T) {
	var v1 []string
	for _, f := range FilterFields() {
		if f.V1 {
			v1 = append(v1, f.Name)
		}
	}
	want := []string{"country", "loc", "legal_status", "simple_legal_status", "apply_start_time", "apply_end_time",
		"public_start_time", "public_end_time", "assignees", "main_field", "lang", "field", "order", "stemming", "pre_filter"}
	if !reflect.DeepEqual(v1, want) {
		t.Errorf("v1 filters %v\nwant       %v", v1, want)
	}
	byName := map[string]FilterField{}
	for _, f := range FilterFields() {
		byName[f.Name] = f
	}
	for name, want := range map[string]FilterField{
		"country":          {Index: 0, Name: "country", Kind: FilterTexts, Set: true, V1: true},
		"legal_status":     {Index: 2, Name: "legal_status", Kind: FilterCodes, Set: true, V1: true},
		"apply_start_time": {Index: 4, Name: "apply_start_time", Kind: FilterText, Date: true, V1: true},
		"public_end_time":  {Index: 7, Name: "public_end_time", Kind: FilterText, Date: true, Start: "public_start_time", V1: true},
		"stemming":         {Index: 13, Name: "stemming", Kind: FilterInt, V1: true},
	} {
		if got := byName[name]; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	fs := FilterFields()
	fs[0].Name = "changed"
	if FilterFields()[0].Name != "country" {
		t.Error("FilterFields returned its own table")
	}
}

func TestFilterTagsRefused(t *testing.T) {
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[struct {
			A string `json:"a"`
		}](), "needs a json tag"},
		{reflect.StructOf([]reflect.StructField{ // built at run time: vet refuses a repeated tag in source
			{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"a,omitempty"`},
			{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"a,omitempty"`},
		}), `json name "a" is already taken`},
		{reflect.TypeFor[struct {
			A string `json:"limit,omitempty"`
		}](), `json name "limit" is already taken`},
		{reflect.TypeFor[struct {
			A bool `json:"a,omitempty"`
		}](), "is a bool"},
		{reflect.TypeFor[struct {
			A []int `json:"a,omitempty"`
		}](), "is a []int"},
		{reflect.TypeFor[struct {
			A string `json:"a,omitempty" filter:"sorted"`
		}](), `unknown filter tag option "sorted"`},
		{reflect.TypeFor[struct {
			A string `json:"a,omitempty" filter:"set"`
		}](), "only a list can be a set"},
		{reflect.TypeFor[struct {
			A *int `json:"a,omitempty" filter:"date"`
		}](), "a date is a string"},
		{reflect.TypeFor[struct {
			A string `json:"a,omitempty" filter:"start=b"`
		}](), "only a date can end a range"},
		{reflect.TypeFor[struct {
			A string `json:"a,omitempty" filter:"date,start=b"`
		}](), "start=b names no date filter"},
		{reflect.TypeFor[struct {
			A string `json:"a,omitempty" filter:"date,start=b"`
			B string `json:"b,omitempty"`
		}](), "start=b names no date filter"},
	}
	for _, tt := range tests {
		_, err := readFilterFields(tt.typ)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.typ, err, tt.want)
		}
	}
}

// TestFiltersWire: every filter travels under its own name, legal statuses
// as the comma-joined string, and an unset filter not at all.
func TestFiltersWire(t *testing.T) {
	zero := 0
	tests := []struct {
		f    Filters
		want string
	}{
		{Filters{}, `{}`},
		{Filters{Country: []string{}, LegalStatus: Codes{}}, `{}`},
		{Filters{LegalStatus: Codes{3, 2}, SimpleLegalStatus: Codes{999}}, `{"legal_status":"3,2","simple_legal_status":"999"}`},
		{Filters{Stemming: &zero, Country: []string{"US"}}, `{"country":["US"],"stemming":0}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.f)
		if err != nil || string(got) != tt.want {
			t.Errorf("%+v: %s, %v; want %s", tt.f, got, err, tt.want)
		}
	}
}
