package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestMarkdownPlanStaysUnderACommentsLength: a plan too long for a
// comment is cut at a line, its sections closed, with a note.
func TestMarkdownPlanStaysUnderACommentsLength(t *testing.T) {
	c := &ChangeReport{Command: "plan"}
	for i := range 300 {
		s := SearchChange{Name: fmt.Sprintf("search-%03d", i), Status: StatusOK}
		for j := range 20 {
			s.New = append(s.New, HitChange{PatentPN: fmt.Sprintf("CN%06dS", i*100+j), Title: strings.Repeat("a long title ", 3)})
		}
		c.Searches = append(c.Searches, s)
	}
	c.Finish()
	var buf bytes.Buffer
	if err := Render(&buf, c, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if len(out) > MaxCommentChars-markdownPlanRoom {
		t.Errorf("the plan is %d bytes, more than a comment holds", len(out))
	}
	if !strings.Contains(out, "more lines cut to stay under GitHub's 65,536 characters a comment") {
		t.Error("the cut is not noted")
	}
	if open, closed := strings.Count(out, "<details>"), strings.Count(out, "</details>"); open != closed {
		t.Errorf("%d <details> opened, %d closed", open, closed)
	}
	if !strings.HasPrefix(out, "**6,000 new hits**\n\n<details>") {
		t.Errorf("the plan starts with %q", out[:40])
	}

	small := &ChangeReport{Command: "plan", Searches: []SearchChange{{Name: "s", Status: StatusBaseline}}}
	small.Finish()
	buf.Reset()
	Render(&buf, small, FormatMarkdown)
	if strings.Contains(buf.String(), "cut to stay under") {
		t.Error("a short plan is cut")
	}
}

func TestPlanLine(t *testing.T) {
	c := &ChangeReport{Command: "plan", Searches: []SearchChange{
		{Name: "a", Status: StatusBaseline}, {Name: "b", Status: StatusBaseline}, {Name: "c", Status: StatusRemoved},
		{Name: "d", Status: StatusRebaseline}, {Name: "e", Status: StatusOK},
	}, Reports: []ReportChange{{Name: "r", Status: ReportRemoved}}}
	c.Calls.PerDay = &PerDay{Change: 38, Total: 1200, Budget: 2000}
	if got, want := PlanLine(c), "+2 searches · ~1 search · −1 search · −1 report · ≈ +38 calls/day · within budget"; got != want {
		t.Errorf("PlanLine = %q, want %q", got, want)
	}
	c.Calls.PerDay = &PerDay{Change: -3, Total: 2400, Budget: 2000, Unknown: 1}
	if got, want := PlanLine(c), "+2 searches · ~1 search · −1 search · −1 report · ≈ −3 calls/day · 1 earlier query unknown · over budget: ≈ 2,400 of 2,000 calls/day"; got != want {
		t.Errorf("PlanLine = %q, want %q", got, want)
	}
	if got := PlanLine(&ChangeReport{Command: "plan"}); got != "no change" {
		t.Errorf("PlanLine of nothing = %q", got)
	}
}
