package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRenderSkippedEntriesAndCalls(t *testing.T) {
	made := 3
	c := &ChangeReport{Command: "apply", Calls: Calls{Estimated: 5, Made: &made},
		Searches: []SearchChange{
			{Name: "edited", Status: StatusRebaseline, Hits: 4},
			{Name: "other", Status: StatusSkipped, Hits: 7, Reason: "untouched by the spec change; it runs on its schedule"},
			{Name: "left", Status: StatusSkipped, Hits: 2},
		},
		Reports: []ReportChange{{Name: "r", Patent: "CN1B", Status: ReportSkipped, JobID: "9"}},
	}
	c.Finish()
	for _, f := range []struct{ format, want string }{
		{FormatText, "  search other: skipped, untouched by the spec change; it runs on its schedule\n" +
			"  search left: skipped, not selected by --target or --exclude\n" +
			"  report r (CN1B): skipped, not selected by --target or --exclude\n\n" +
			"Apply: 3 searches, 1 report: 1 rebaseline, 3 skipped\nAPI calls: 3 made, worst case 5\n"},
		{FormatMarkdown, "API calls: 3 made, worst case 5\n\n"},
		{FormatMarkdown, "| other | skipped (untouched by the spec change; it runs on its schedule) | 0 | 0 | 7 | 0 |\n"},
		{FormatJSON, `"calls": {`},
	} {
		var b bytes.Buffer
		if err := Render(&b, c, f.format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), f.want) {
			t.Errorf("%s does not hold %q:\n%s", f.format, f.want, b.String())
		}
	}

	var back struct {
		Calls map[string]any `json:"calls"`
	}
	offline := &ChangeReport{Command: "plan", Offline: true, Calls: Calls{Estimated: 12}}
	offline.Finish()
	var b bytes.Buffer
	if err := RenderStream(&b, offline, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Calls["estimated"] != 12.0 || back.Calls["made"] != nil {
		t.Errorf("an offline plan's calls: %v (%v); want the estimate alone", back.Calls, err)
	}
	b.Reset()
	_ = Render(&b, offline, FormatText)
	if !strings.Contains(b.String(), "API calls: none (offline); worst case of the apply: 12\n") {
		t.Errorf("an offline plan's text:\n%s", b.String())
	}
}
