package spec

import (
	"fmt"
	"strings"
)

// AutoReport is a search's auto_report: a value report ordered for each
// hit reported new that scores at least MinScore.
type AutoReport struct {
	MinScore  float64
	Format    string // pdf or word
	MaxPerRun int    // new jobs per run for the search, at most
}

// Defaults of auto_report.
const (
	DefaultAutoFormat    = "pdf"
	DefaultAutoMaxPerRun = 3
)

// AutoReportPrefix starts the name of every automatic report; the spec's
// own reports may not use it.
const AutoReportPrefix = "auto-"

// AutoReportName is the name of the automatic report on the patent pn:
// auto-cn215812345u.
func AutoReportName(pn string) string {
	return AutoReportPrefix + strings.ToLower(pn)
}

// IsAutoReportName reports whether name is an automatic report's.
func IsAutoReportName(name string) bool {
	return strings.HasPrefix(name, AutoReportPrefix)
}

// Unreportable says why PatSnap's value reports cannot cover the patent
// pn, as far as its number tells: a design patent (IsDesignNumber), or an
// application not yet granted (a kind code that starts with A: CN…A,
// US…A1, EP…A2, WO…A1). It is "" for any other number, which the API is
// asked about.
func Unreportable(pn string) string {
	if IsDesignNumber(pn) {
		return "PatSnap's value reports do not cover design patents"
	}
	if m := kindCodeRE.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(pn))); m != nil && m[1][0] == 'A' {
		return "PatSnap's value reports cover granted patents only, and " + pn + " is an application"
	}
	return ""
}

// autoReport checks and builds a search's auto_report: on a utility-model
// search only, since the value reports do not cover design patents.
func (l *loader) autoReport(ptr []string, m map[string]any, patentType string) *AutoReport {
	a := &AutoReport{Format: DefaultAutoFormat, MaxPerRun: DefaultAutoMaxPerRun}
	if patentType == "D" {
		l.addKey(ptr, "auto_report is for utility-model searches (patent_type U): PatSnap's value reports do not cover design patents",
			"remove auto_report from this search; order reports for utility models and inventions")
	}
	if sc, ok := floatOf(m["min_score"]); ok {
		a.MinScore = sc
	}
	if f, ok := m["format"].(string); ok && (f == "pdf" || f == "word") {
		a.Format = f
	}
	if n, ok := intOf(m["max_per_run"]); ok && n >= 1 {
		a.MaxPerRun = n
	}
	return a
}

// reservedReportName refuses a report of the spec named like an automatic
// report.
func (l *loader) reservedReportName(ptr []string, name string) {
	if IsAutoReportName(name) {
		l.add(with(ptr, "name"), fmt.Sprintf("names starting with %s are kept for automatic reports", AutoReportPrefix),
			"give the report another name; an automatic report on the same patent and format is not ordered when the spec declares one")
	}
}
