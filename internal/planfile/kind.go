package planfile

import (
	"bytes"
	"encoding/json"
	"regexp"
)

// whatIs names what data is, for a file given as a saved plan that is
// not one: the other files patwatch reads and writes, by their marks.
func whatIs(data []byte) string {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return "an empty file"
	case trimmed[0] == '{':
		return whatJSON(trimmed)
	case hasPrefixFold(trimmed, "<!doctype html") || hasPrefixFold(trimmed, "<html"):
		return "an HTML page (a change report or a gallery)"
	case changeReportText.Match(trimmed), markdownPlan.Match(trimmed):
		return "a change report"
	case yamlKey("decisions").Match(trimmed):
		return "a decisions file"
	case yamlKey("searches").Match(trimmed) || yamlKey("reports").Match(trimmed):
		return "a spec"
	}
	return "a file of another kind"
}

// whatJSON names a JSON object by its fields: a change report (or a line
// of watch's stream of them), a state file, a notification.
func whatJSON(data []byte) string {
	// The first line alone: watch's stream holds one report a line.
	line, _, _ := bytes.Cut(data, []byte("\n"))
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil && json.Unmarshal(line, &fields) != nil {
		return "a JSON file of another kind"
	}
	has := func(k string) bool { _, ok := fields[k]; return ok }
	switch {
	case has("command") && has("searches"):
		return "a change report"
	case has("lineage") && has("serial"):
		return "a state file"
	case has("entries"):
		return "a list of the state's entries"
	case has("events") && has("channel"):
		return "a notification"
	}
	return "a JSON file of another kind"
}

// changeReportText matches the first line of a change report in text or
// markdown: "Plan of …", "Apply of …", "### patwatch plan".
var changeReportText = regexp.MustCompile(`^(?:(?:Plan|Apply)\b|### patwatch )`)

// markdownPlan matches a markdown plan: its one line, then the change
// report in a <details> section.
var markdownPlan = regexp.MustCompile(`^\*\*[^\n]*\*\*\n\n<details><summary>(?:Plan|Apply)\b`)

// yamlKey matches a top-level YAML key.
func yamlKey(k string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + k + `\s*:`)
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
