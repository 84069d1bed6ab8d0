package schema_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/schema"
	"github.com/patwatch/patwatch/spec"
)

// The schema states two rules as regular expressions where validate
// computes: an interval's floor and a date's month and day. These tests
// hold each expression to validate over every case that matters: the
// schema never refuses what validate accepts, and refuses all it refuses
// but what a regular expression cannot say.

// TestIntervalFloorAgreesWithValidate runs intervals of one to three
// components through the schema and through ParseDuration and
// MinInterval, the rule validate applies. The schema cannot add up
// several seconds components (10s10s10s is 30s): it lets them through.
func TestIntervalFloorAgreesWithValidate(t *testing.T) {
	sch, err := schema.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	var comps []string
	for _, n := range []string{"0", "00", "1", "007", "30", "59", "060", "60", "61", "99", "100"} {
		for _, u := range "dhms" {
			comps = append(comps, n+string(u))
		}
	}
	for _, a := range comps {
		cases = append(cases, a)
		for _, b := range comps {
			cases = append(cases, a+b)
		}
	}
	cases = append(cases, "0s30s0s", "10s10s10s", "0m0s59s", "20s20s20s", "0d0h0m0s", "1s0m59s")
	for _, s := range cases {
		d, err := spec.ParseDuration(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		validateOK := d >= spec.MinInterval
		schemaOK := sch.Validate(map[string]any{"version": 1, "interval": s}) == nil
		switch {
		case schemaOK == validateOK:
		case !schemaOK:
			t.Errorf("interval %s (%v): the schema refuses what validate accepts", s, d)
		case secondsCounts(s) < 2:
			t.Errorf("interval %s (%v): the schema accepts an interval under 1m", s, d)
		}
	}
}

// secondsCounts counts the components of a duration that are seconds
// above zero.
func secondsCounts(s string) int {
	n := 0
	for _, c := range regexp.MustCompile(`([0-9]+)([dhms])`).FindAllStringSubmatch(s, -1) {
		if c[2] == "s" && strings.Trim(c[1], "0") != "" {
			n++
		}
	}
	return n
}

// TestDatePatternAgreesWithValidate runs every month 00 to 13 and day 00
// to 32 of a leap year, and February of a common year, through the schema
// and through validate. The schema cannot know each month's length (Feb 30,
// Apr 31): it lets those through.
func TestDatePatternAgreesWithValidate(t *testing.T) {
	sch, err := schema.Compile()
	if err != nil {
		t.Fatal(err)
	}
	check := func(year, month, day int) {
		date := fmt.Sprintf("%04d%02d%02d", year, month, day)
		src := fmt.Sprintf("version: 1\nsearches:\n  - name: s\n    image: https://images.test/a.png\n    patent_type: D\n    model: 1\n    filters:\n      apply_start_time: %q\n", date)
		_, verr := spec.Parse("dates.yaml", []byte(src))
		validateOK := verr == nil
		doc := map[string]any{"version": 1, "searches": []any{map[string]any{
			"name": "s", "image": "https://images.test/a.png", "patent_type": "D", "model": 1,
			"filters": map[string]any{"apply_start_time": date},
		}}}
		schemaOK := sch.Validate(doc) == nil
		inRange := month >= 1 && month <= 12 && day >= 1 && day <= 31
		switch {
		case schemaOK == validateOK:
		case !schemaOK:
			t.Errorf("%s: the schema refuses what validate accepts", date)
		case !inRange:
			t.Errorf("%s: the schema accepts a month or day out of range", date)
		}
	}
	for month := 0; month <= 13; month++ {
		for day := 0; day <= 32; day++ {
			check(2024, month, day)
		}
	}
	for day := 27; day <= 30; day++ {
		check(2023, 2, day)
	}
}
