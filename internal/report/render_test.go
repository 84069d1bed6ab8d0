package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sampleReport has every kind of search and report entry a run can produce.
func sampleReport(command string) *ChangeReport {
	rep := &ChangeReport{
		Command:         command,
		GeneratedAt:     time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
		PatwatchVersion: "v1.2.3",
		Spec:            "watch/patwatch.yaml",
		Searches: []SearchChange{
			{Name: "phone-designs", Status: StatusOK, Total: 1234, Hits: 57,
				New: []HitChange{{PatentPN: "EU0065350760001S", Title: "Mobile phones", Score: 0.8884816,
					CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.", Apdt: 20190528, Pbdt: 20190528,
					ImageURL: "http://img.example/EU/004744217_0009_0002.png?X-Amz-Expires=604800", PatentID: "6e433449-143b-41d9-9abf-6c6519b07779"}},
				Dropped: []HitChange{{PatentPN: "CN305123456S", Title: "Phone case | slim", CurrentAssignee: "ACME *Corp*", Apdt: 20180102, Pbdt: 20180601}},
				Missing: 1},
			{Name: "watch-faces", Status: StatusBaseline, Total: 88, Hits: 40},
			{Name: "chairs", Status: StatusRebaseline, Total: 12, Hits: 12},
			{Name: "lamps", Status: StatusOK, Total: 5, Hits: 5, RenamedFrom: "lights"},
			{Name: "tables", Status: StatusError, Error: "P060 image search: rate-limit: 67200002 The current call rate is too fast", Hits: 9},
			{Name: "sofas", Status: StatusSuspended, Hits: 3},
			{Name: "old-search", Status: StatusRemoved, Hits: 12},
			{Name: "gone-empty", Status: StatusRemoved},
			{Name: "desks", Status: StatusOK, Hits: 1, RenamedFrom: "tables-old"},
		},
		Reports: []ReportChange{
			{Name: "cn108977442b", Patent: "CN108977442B", Status: ReportFinished, JobID: "1579434053399035905", File: "reports/cn108977442b.pdf"},
			{Name: "us-pending", Patent: "US10000000B2", Status: ReportPending, JobID: "1579434053399035906", QueueNum: 10},
			{Name: "new-one", Patent: "CN1", Status: ReportSubmitted, JobID: "1579434053399035907"},
			{Name: "broken", Patent: "CN2", Status: ReportFailed, JobID: "1579434053399035908", Error: "由于服务器异常,正在修复中"},
			{Name: "gone", Patent: "CN3", Status: ReportRemoved, JobID: "1", File: "reports/gone.pdf"},
			{Name: "kept", Patent: "CN4", Status: ReportReady, JobID: "2", File: "reports/kept.docx"},
			{Name: "moved", Patent: "CN5", Status: ReportReady, JobID: "3", File: "reports/moved.pdf", RenamedFrom: "was-here"},
		},
	}
	rep.Finish()
	return rep
}

func TestRenderGolden(t *testing.T) {
	for _, format := range []string{FormatText, FormatMarkdown, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, sampleReport("apply"), format); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "report."+format+".golden"), buf.Bytes())
		})
	}
}

func TestRenderJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderStream(&buf, sampleReport("apply"), FormatJSON); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("compact JSON spans %d lines, want 1", n)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format_version", "command", "changed", "searches", "reports"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing top-level field %q", k)
		}
	}
	s := got["searches"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "status", "error", "total", "hits", "new", "dropped"} {
		if _, ok := s[k]; !ok {
			t.Errorf("missing search field %q", k)
		}
	}
	h := s["new"].([]any)[0].(map[string]any)
	for _, k := range []string{"patent_pn", "title", "score", "current_assignee", "apdt", "pbdt", "image_url"} {
		if _, ok := h[k]; !ok {
			t.Errorf("missing new-hit field %q", k)
		}
	}
	r := got["reports"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "patent", "status", "job_id", "file", "error"} {
		if _, ok := r[k]; !ok {
			t.Errorf("missing report field %q", k)
		}
	}
	if _, isString := r["job_id"].(string); !isString {
		t.Errorf("job_id is %T, want a string", r["job_id"])
	}
}

func TestChanged(t *testing.T) {
	quiet := &ChangeReport{Searches: []SearchChange{{Name: "a", Status: StatusOK}, {Name: "b", Status: StatusSuspended}, {Name: "c", Status: StatusError}},
		Reports: []ReportChange{{Status: ReportPending}, {Status: ReportReady}, {Status: ReportError}}}
	quiet.Finish()
	if quiet.Changed {
		t.Error("a report with nothing new, dropped, baselined, submitted, finished, failed or removed counts as changed")
	}
	if !quiet.Failed() {
		t.Error("errors not counted as failure")
	}
	for _, tweak := range []func(*ChangeReport){
		func(c *ChangeReport) { c.Searches[0].New = []HitChange{{PatentPN: "X"}} },
		func(c *ChangeReport) { c.Searches[0].Dropped = []HitChange{{PatentPN: "X"}} },
		func(c *ChangeReport) { c.Searches[0].Status = StatusBaseline },
		func(c *ChangeReport) { c.Searches[0].Status = StatusRebaseline },
		func(c *ChangeReport) { c.Searches[0].Status = StatusRemoved },
		func(c *ChangeReport) { c.Reports[0].Status = ReportSubmitted },
		func(c *ChangeReport) { c.Reports[0].Status = ReportFinished },
		func(c *ChangeReport) { c.Reports[0].Status = ReportFailed },
		func(c *ChangeReport) { c.Reports[0].Status = ReportRemoved },
	} {
		c := &ChangeReport{Searches: append([]SearchChange(nil), quiet.Searches...), Reports: append([]ReportChange(nil), quiet.Reports...)}
		tweak(c)
		c.Finish()
		if !c.Changed {
			t.Errorf("not counted as a change: %+v %+v", c.Searches[0], c.Reports[0])
		}
	}
}

func TestSummaryNoChanges(t *testing.T) {
	c := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "a", Status: StatusOK}}}
	c.Finish()
	if got, want := Summary(c), "1 search, 0 reports: no changes"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestRenderEscapesControlCharacters(t *testing.T) {
	c := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "s", Status: StatusOK,
		New: []HitChange{{PatentPN: "CN1\x1b[2J", Title: "evil\x1b[31m red\rover\nline", CurrentAssignee: "A\tB"}}}}}
	c.Finish()
	for _, format := range []string{FormatText, FormatMarkdown} {
		var buf bytes.Buffer
		if err := Render(&buf, c, format); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.ContainsAny(out, "\x1b\r\t") {
			t.Errorf("%s output carries raw control characters:\n%q", format, out)
		}
		if !strings.Contains(out, `\x1b`) {
			t.Errorf("%s output does not show the escape escaped:\n%s", format, out)
		}
	}
}

// planReport is an offline plan's report: additions, a rename, removals and
// a report whose format changed.
func planReport() *ChangeReport {
	rep := &ChangeReport{
		Command: "plan", Offline: true, GeneratedAt: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), PatwatchVersion: "dev", Spec: "patwatch.yaml",
		Searches: []SearchChange{
			{Name: "new-one", Status: StatusBaseline},
			{Name: "renamed", Status: StatusOK, Hits: 7, RenamedFrom: "old-name"},
			{Name: "edited", Status: StatusRebaseline, Hits: 3},
			{Name: "same", Status: StatusOK, Hits: 4},
			{Name: "gone", Status: StatusRemoved, Hits: 12},
		},
		Reports: []ReportChange{
			{Name: "to-word", Patent: "CN1", Status: ReportSubmit, JobID: "9", Reason: "its format changed from pdf to word"},
			{Name: "fresh", Patent: "CN2", Status: ReportSubmit},
			{Name: "old-report", Patent: "CN3", Status: ReportRemoved, File: "reports/old-report.pdf"},
		},
	}
	rep.Finish()
	return rep
}

func TestRenderPlanGolden(t *testing.T) {
	for _, format := range []string{FormatText, FormatMarkdown} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, planReport(), format); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "plan."+format+".golden"), buf.Bytes())
		})
	}
}

// TestSummaryCounts: the head counts the spec's entries, as validate does;
// removals are listed among the changes, and a report poll does not claim
// to have run searches.
func TestSummaryCounts(t *testing.T) {
	if got, want := Summary(planReport()), "4 searches, 2 reports: 1 baseline, 1 rebaseline, 1 renamed, 2 removed, 2 reports to submit"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	poll := &ChangeReport{Command: "apply", ReportsOnly: true, Reports: []ReportChange{{Name: "r", Status: ReportPending}}}
	poll.Finish()
	if got, want := Summary(poll), "report poll, 1 report: 1 report pending"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func TestHeader(t *testing.T) {
	rep := &ChangeReport{Command: "apply", GeneratedAt: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), PatwatchVersion: "dev",
		Spec: "patwatch.yaml", Simulated: true, Trigger: "spec changed"}
	if got, want := Header(rep), "apply of patwatch.yaml at 2026-12-01T08:00:00Z by patwatch dev, simulated (--sandbox), watch trigger: spec changed"; got != want {
		t.Errorf("Header = %q, want %q", got, want)
	}
	if got := Header(&ChangeReport{Command: "apply"}); got != "" {
		t.Errorf("Header of a report without run facts = %q, want none", got)
	}
	var buf bytes.Buffer
	RenderStream(&buf, rep, FormatJSON)
	for _, want := range []string{`"generated_at":"2026-12-01T08:00:00Z"`, `"patwatch_version":"dev"`, `"spec":"patwatch.yaml"`, `"simulated":true`, `"trigger":"spec changed"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("JSON lacks %s: %s", want, buf.String())
		}
	}
}

// TestRenderEscapesBidiControls: bidirectional controls (Trojan Source)
// are shown escaped in text and markdown, as control characters are; JSON
// carries the text as it is.
func TestRenderEscapesBidiControls(t *testing.T) {
	evil := "Lamp \u202eexe.fdp\u202c \u2066x\u2069 \u200f"
	c := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "s", Status: StatusOK,
		New: []HitChange{{PatentPN: "CN1\u202e", Title: evil, CurrentAssignee: "ACME\u2067"}}}},
		Reports: []ReportChange{{Name: "r", Patent: "CN2", Status: ReportError, Error: "boom \u202d"}}}
	c.Finish()
	for _, format := range []string{FormatText, FormatMarkdown} {
		var buf bytes.Buffer
		if err := Render(&buf, c, format); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, r := range []rune{'\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c'} {
			if strings.ContainsRune(out, r) {
				t.Errorf("%s output carries %U raw:\n%q", format, r, out)
			}
		}
		if !strings.Contains(out, `\u202e`) {
			t.Errorf("%s output does not show the override escaped:\n%s", format, out)
		}
	}
	var buf bytes.Buffer
	if err := Render(&buf, c, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back ChangeReport
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Searches[0].New[0].Title != evil {
		t.Errorf("JSON does not keep the title as it is: %v %q", err, back.Searches[0].New[0].Title)
	}
}

// TestRenderMarkdownLinks: a markdown link takes only an http(s) URL, with
// every byte that could end it or break the table percent-encoded; a
// presigned drawing link is not shown, the durable link is; JSON keeps
// image_url as the API sent it.
func TestRenderMarkdownLinks(t *testing.T) {
	tests := []struct {
		name       string
		hit        HitChange
		want       string // the patent cell
		wantAbsent []string
	}{
		{"durable link", HitChange{PatentPN: "CN1", Link: "https://worldwide.espacenet.com/patent/search?q=pn%3DCN1"},
			"[CN1](https://worldwide.espacenet.com/patent/search?q=pn%3DCN1)", nil},
		{"presigned drawing is not shown", HitChange{PatentPN: "CN1", ImageURL: "https://img.test/a.png?X-Amz-Signature=secret&X-Amz-Expires=604800"},
			"CN1", []string{"secret", "img.test"}},
		{"durable link and presigned drawing", HitChange{PatentPN: "CN1", Link: "https://p.test/CN1", ImageURL: "https://img.test/a.png?sign=secret"},
			"[CN1](https://p.test/CN1)", []string{"secret"}},
		{"durable link and unsigned drawing", HitChange{PatentPN: "CN1", Link: "https://p.test/CN1", ImageURL: "https://img.test/a.png"},
			"[CN1](https://p.test/CN1) ([drawing](https://img.test/a.png))", nil},
		{"unsigned drawing alone", HitChange{PatentPN: "CN1", ImageURL: "http://img.test/a.png"}, "[CN1](http://img.test/a.png)", nil},
		{"javascript is not linked", HitChange{PatentPN: "CN1", Link: "javascript:alert(1)", ImageURL: "javascript:alert(2)"}, "CN1", []string{"javascript", "alert"}},
		{"data is not linked", HitChange{PatentPN: "CN1", ImageURL: "data:text/html,<script>x</script>"}, "CN1", []string{"data:", "script"}},
		{"a relative path is not linked", HitChange{PatentPN: "CN1", ImageURL: "/etc/passwd"}, "CN1", []string{"passwd"}},
		{"a user name is not linked", HitChange{PatentPN: "CN1", Link: "https://bank.test@evil.test/"}, "CN1", []string{"evil"}},
		{"a parenthesis cannot end the link early", HitChange{PatentPN: "CN1", ImageURL: "https://img.test/a) [x](javascript:alert(1)"},
			"[CN1](https://img.test/a%29%20%5Bx%5D%28javascript:alert%281%29)", nil},
		{"a pipe cannot break the table", HitChange{PatentPN: "CN1", Link: "https://p.test/a|b<c>\"d`e"},
			"[CN1](https://p.test/a%7Cb%3Cc%3E%22d%60e)", nil},
		{"an upper-case scheme", HitChange{PatentPN: "CN1", Link: "HTTPS://p.test/x"}, "[CN1](https://p.test/x)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "s", Status: StatusOK, New: []HitChange{tt.hit}}}}
			c.Finish()
			var buf bytes.Buffer
			if err := Render(&buf, c, FormatMarkdown); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if !strings.Contains(out, "| new | "+tt.want+" |") {
				t.Errorf("want the patent cell %q in:\n%s", tt.want, out)
			}
			for _, s := range tt.wantAbsent {
				if strings.Contains(out, s) {
					t.Errorf("output holds %q:\n%s", s, out)
				}
			}
			buf.Reset()
			if err := Render(&buf, c, FormatJSON); err != nil {
				t.Fatal(err)
			}
			var back ChangeReport
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Searches[0].New[0].ImageURL != tt.hit.ImageURL {
				t.Errorf("JSON image_url: %v %q, want %q", err, back.Searches[0].New[0].ImageURL, tt.hit.ImageURL)
			}
		})
	}
}

// TestRenderStoppedAndRestoredGolden: a run stopped at an account-wide error
// says so once, and entries added back from retirement say so.
func TestRenderStoppedAndRestoredGolden(t *testing.T) {
	rep := &ChangeReport{
		Command: "apply", GeneratedAt: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), PatwatchVersion: "dev", Spec: "patwatch.yaml",
		Stopped: &Stop{Error: "patsnap P060-single: HTTP 200, code 67200005: balance is insufficient (account)",
			Check: "the PatSnap account's balance is used up: top it up on PatSnap's open platform, then run again"},
		Searches: []SearchChange{
			{Name: "back", Status: StatusOK, Hits: 7, Total: 9, Restored: true},
			{Name: "hit", Status: StatusError, Hits: 3, Error: "patsnap P060-single: HTTP 200, code 67200005: balance is insufficient (account)"},
			{Name: "later", Status: StatusError, Hits: 4, Error: "not done: the run stopped at an account-wide error"},
		},
		Reports: []ReportChange{
			{Name: "kept", Patent: "CN4", Status: ReportReady, JobID: "2", File: "reports/kept.pdf", Restored: true},
			{Name: "r", Patent: "CN5", Status: ReportError, Error: "not done: the run stopped at an account-wide error"},
		},
	}
	rep.Finish()
	for _, format := range []string{FormatText, FormatMarkdown, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, rep, format); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "stopped."+format+".golden"), buf.Bytes())
		})
	}
}

// TestRenderStream: watch's stream is one JSON object a line, and text or
// markdown with a blank line after each report.
func TestRenderStream(t *testing.T) {
	for _, format := range []string{FormatText, FormatMarkdown, FormatJSON} {
		var doc, stream bytes.Buffer
		if err := Render(&doc, sampleReport("apply"), format); err != nil {
			t.Fatal(err)
		}
		if err := RenderStream(&stream, sampleReport("apply"), format); err != nil {
			t.Fatal(err)
		}
		switch format {
		case FormatJSON:
			if n := strings.Count(stream.String(), "\n"); n != 1 || !strings.HasSuffix(stream.String(), "}\n") {
				t.Errorf("json: %d lines in the stream's entry, want 1", n)
			}
		default:
			if stream.String() != doc.String()+"\n" {
				t.Errorf("%s: the stream's entry is not the report and a blank line:\n%s", format, stream.String())
			}
		}
	}
}
