package report

import (
	"fmt"
	"strconv"
)

// What the change report says of the analyst's decisions (the decisions
// file) and of the automatic value reports they and auto_report order.

// suppressedNote counts the hits a not_relevant decision silenced.
func suppressedNote(s SearchChange) string {
	if s.Suppressed == 0 {
		return ""
	}
	return fmt.Sprintf(", %d silenced by decisions", s.Suppressed)
}

// DecisionMark is how text marks a hit with its decision: "  [relevant]",
// or "" for none. The text change report and the notifications' digest
// mark hits with it.
func DecisionMark(verdict string) string {
	if verdict == "" {
		return ""
	}
	return "  [" + Printable(verdict) + "]"
}

// reportSubject is a report's patent, with where an automatic report
// comes from.
func reportSubject(r ReportChange) string {
	if o := originNote(r); o != "" {
		return r.Patent + ", " + o
	}
	return r.Patent
}

// originNote says where an automatic report comes from; "" for the spec's.
func originNote(r ReportChange) string {
	switch {
	case r.Origin == OriginDecision:
		return "ordered by a decision"
	case r.Origin == OriginAuto && r.Search != "" && r.Score > 0:
		return fmt.Sprintf("automatic: %s, score %s", r.Search, strconv.FormatFloat(r.Score, 'f', 3, 64))
	case r.Origin == OriginAuto && r.Search != "":
		return "automatic: " + r.Search
	case r.Origin == OriginAuto:
		return "automatic"
	}
	return ""
}
