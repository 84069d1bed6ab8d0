package spec

import (
	"reflect"
	"strings"
	"testing"
)

func TestUnreportable(t *testing.T) {
	for pn, want := range map[string]bool{"CN215812345U": false, "CN108977442B": false, "CN305104902S": true, "CN110000001A": true,
		"US20240001234A1": true, "US11223344B2": false, "EP3456789A2": true, "WO2024123456A1": true, "JP7001234B2": false} {
		if got := Unreportable(pn) != ""; got != want {
			t.Errorf("Unreportable(%s) = %v, want %v", pn, got, want)
		}
	}
}

func TestAutoReportLoaded(t *testing.T) {
	s, err := Load(writeSpec(t, head+`searches:
  - name: hinges
    image: https://example.com/a.png
    patent_type: U
    model: 4
    auto_report: {min_score: 0.9}
  - name: latches
    image: https://example.com/b.png
    patent_type: U
    model: 3
    auto_report: {min_score: 0.5, format: word, max_per_run: 7}
`, nil))
	if err != nil {
		t.Fatal(err)
	}
	got := []AutoReport{*s.Searches[0].AutoReport, *s.Searches[1].AutoReport}
	want := []AutoReport{{MinScore: 0.9, Format: "pdf", MaxPerRun: 3}, {MinScore: 0.5, Format: "word", MaxPerRun: 7}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("auto_report: %+v, want %+v", got, want)
	}
	if AutoReportName("CN215812345U") != "auto-cn215812345u" || !IsAutoReportName("auto-cn1u") {
		t.Error("automatic report names")
	}
}

func TestAutoReportProblems(t *testing.T) {
	got := problems(t, head+`searches:
  - name: phones
    image: https://example.com/a.png
    patent_type: D
    model: 1
    auto_report: {format: docx}
reports:
  - name: auto-cn1u
    patent_number: CN108977442B
`, nil)
	want := []string{
		"7:5 searches[0].auto_report: auto_report is for utility-model searches (patent_type U): PatSnap's value reports do not cover design patents",
		"7:18 searches[0].auto_report.min_score: required field is missing",
		`7:27 searches[0].auto_report.format: must be one of "pdf", "word", not "docx"`,
		"9:11 reports[0].name: names starting with auto- are kept for automatic reports",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
