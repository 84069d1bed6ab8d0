package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const decisionsSpec = head + `searches:
  - name: phone-designs
    image: https://example.com/a.png
    patent_type: D
    model: 1
  - name: hinges
    image: https://example.com/b.png
    patent_type: U
    model: 4
`

// loadWithDecisions writes the spec src and, unless decisions is "", its
// decisions file under the default name, and loads the spec.
func loadWithDecisions(t *testing.T, src, decisions string) (*Spec, error) {
	t.Helper()
	files := map[string][]byte{}
	if decisions != "" {
		files["spec.decisions.yaml"] = []byte(decisions)
	}
	return Load(writeSpec(t, src, files))
}

// problemLines is err's problems as "FILE:LINE:COL path: message (hint)"
// lines, FILE being the base name.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	var out []string
	for _, p := range se.Problems {
		line := fmt.Sprintf("%s:%d:%d %s: %s", filepath.Base(p.File), p.Line, p.Col, p.Path, p.Msg)
		if p.Hint != "" {
			line += " (" + p.Hint + ")"
		}
		out = append(out, line)
	}
	return out
}

func TestDecisionsLoaded(t *testing.T) {
	s, err := loadWithDecisions(t, decisionsSpec, `version: 1
# reviewed in PR 12
decisions:
  CN305104902S:
    verdict: not_relevant
    note: "kitchen scale, not a phone"
    by: alice
    at: 2026-12-07
    searches: [phone-designs]
  CN215812345U:
    verdict: report
`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Decision{
		"CN305104902S": {PatentPN: "CN305104902S", Verdict: VerdictNotRelevant, Note: "kitchen scale, not a phone", By: "alice",
			At: "2026-12-07", Searches: []string{"phone-designs"}, Line: 4},
		"CN215812345U": {PatentPN: "CN215812345U", Verdict: VerdictReport, Line: 10},
	}
	if !reflect.DeepEqual(s.Decisions.ByPatent, want) {
		t.Errorf("decisions:\n got  %+v\n want %+v", s.Decisions.ByPatent, want)
	}
	if got := s.Decisions.Path; got != filepath.Join(s.Dir, "spec.decisions.yaml") {
		t.Errorf("Path = %q", got)
	}
	for _, c := range []struct {
		search, pn string
		want       Verdict
	}{
		{"phone-designs", "CN305104902S", VerdictNotRelevant},
		{"hinges", "CN305104902S", ""}, // scoped to phone-designs
		{"hinges", "CN215812345U", VerdictReport},
		{"hinges", "CN000000000U", ""},
	} {
		if got := s.Decisions.For(c.search, c.pn); got != c.want {
			t.Errorf("For(%s, %s) = %q, want %q", c.search, c.pn, got, c.want)
		}
	}
}

func TestDecisionsMissingFileIsNone(t *testing.T) {
	s, err := loadWithDecisions(t, decisionsSpec, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Decisions == nil || s.Decisions.Len() != 0 {
		t.Fatalf("Decisions = %+v, want none", s.Decisions)
	}
	var none *Decisions
	if none.For("x", "CN1S") != "" || none.Len() != 0 {
		t.Error("a nil *Decisions holds decisions")
	}
}

func TestDecisionsFieldNamesTheFile(t *testing.T) {
	path := writeSpec(t, decisionsSpec+"decisions: triage/verdicts.yaml\n", map[string][]byte{
		"triage/verdicts.yaml": []byte("version: 1\ndecisions:\n  CN1S:\n    verdict: relevant\n"),
	})
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Decisions.For("hinges", "CN1S") != VerdictRelevant {
		t.Errorf("decisions = %+v", s.Decisions)
	}
	if want := filepath.Join(filepath.Dir(path), "triage", "verdicts.yaml"); s.Decisions.Path != want {
		t.Errorf("Path = %q, want %q", s.Decisions.Path, want)
	}
}

func TestDecisionsProblems(t *testing.T) {
	_, err := loadWithDecisions(t, decisionsSpec, `version: 1
decisions:
  CN305104902S:
    verdict: not-relevant
  cn305104903s:
    verdict: relevant
  CN 305104904S:
    verdict: relevant
  CN305104905S:
    verdit: relevant
  CN305104906S:
    verdict: report
  CN305104907S:
    verdict: relevant
    at: 2026-02-30
    searches: [phone-design]
  CN305104907S:
    verdict: relevant
`)
	got := problemLines(t, err)
	want := []string{
		`spec.decisions.yaml:4:14 decisions.CN305104902S.verdict: must be one of "not_relevant", "relevant", "report", not "not-relevant" (did you mean not_relevant?)`,
		`spec.decisions.yaml:5:3 decisions.cn305104903s: "cn305104903s" is not a publication number as the hits give it: write it in upper case (write CN305104903S)`,
		`spec.decisions.yaml:7:3 decisions["CN 305104904S"]: "CN 305104904S" is not a publication number: it holds spaces (write it as the hits give it, without spaces: CN305104904S)`,
		`spec.decisions.yaml:10:5 decisions.CN305104905S.verdict: required field is missing`,
		`spec.decisions.yaml:10:5 decisions.CN305104905S.verdit: unknown field (did you mean verdict?)`,
		`spec.decisions.yaml:12:14 decisions.CN305104906S.verdict: CN305104906S is a design patent; PatSnap's value reports do not cover design patents (decide relevant or not_relevant for it instead)`,
		`spec.decisions.yaml:15:9 decisions.CN305104907S.at: "2026-02-30" is not a calendar date (write the date as yyyy-mm-dd, e.g. 2026-12-07)`,
		`spec.decisions.yaml:16:16 decisions.CN305104907S.searches[0]: the spec has no search named "phone-design" (did you mean phone-designs?)`,
		`spec.decisions.yaml:17:3 decisions.CN305104907S: field "CN305104907S" appears again (first at line 13) (each field may appear once per mapping)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSpecAndDecisionsProblemsAtOnce: every problem of both files in one
// error, the spec's first, each located in its own file.
func TestSpecAndDecisionsProblemsAtOnce(t *testing.T) {
	_, err := loadWithDecisions(t, decisionsSpec+"intervall: 6h\n", "version: 1\ndecisions:\n  CN1S: {verdict: maybe}\n")
	got := problemLines(t, err)
	want := []string{
		`spec.yaml:11:1 intervall: unknown field (did you mean interval?)`,
		`spec.decisions.yaml:3:19 decisions.CN1S.verdict: must be one of "not_relevant", "relevant", "report", not "maybe"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecisionsFileAsAWhole(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"empty", "", "spec.decisions.yaml:1:1 : decisions file is empty"},
		{"no version", "decisions: {}\n", "spec.decisions.yaml:1:1 version: required field is missing"},
		{"not a mapping", "- CN1S\n", "spec.decisions.yaml:1:1 : decisions file must be a mapping of fields such as version and decisions, not a list"},
		{"two documents", "version: 1\n---\nversion: 1\n", "spec.decisions.yaml:3:1 : decisions file must be a single YAML document; a second one starts here"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// An empty file is written as one blank line: writeSpec skips none.
			_, err := loadWithDecisions(t, decisionsSpec, c.src+" ")
			got := problemLines(t, err)
			if len(got) == 0 || !strings.HasPrefix(got[0], c.want) {
				t.Errorf("problems: %q, want first %q", got, c.want)
			}
		})
	}
}

// TestManyDecisionsLoadInLinearTime: the decisions mapping is not held to
// a spec's 64 fields, nor decoded in yaml.v3's quadratic time.
func TestManyDecisionsLoadInLinearTime(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\ndecisions:\n")
	const n = 20_000
	for i := range n {
		fmt.Fprintf(&b, "  CN%09dU:\n    verdict: not_relevant\n    by: alice\n", i)
	}
	path := writeSpec(t, decisionsSpec, map[string][]byte{"spec.decisions.yaml": []byte(b.String())})
	started := time.Now()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Decisions.Len() != n {
		t.Fatalf("%d decisions, want %d", s.Decisions.Len(), n)
	}
	t.Logf("%d decisions loaded in %s", n, time.Since(started))
}

func TestDefaultDecisionsFile(t *testing.T) {
	for in, want := range map[string]string{
		"patwatch.yaml":       "patwatch.decisions.yaml",
		"watch/designs.yml":   "watch/designs.decisions.yml",
		"spec.json":           "spec.json.decisions.yaml",
		"<stdin>":             "<stdin>.decisions.yaml",
		"dir/.yaml":           "dir/.yaml.decisions.yaml",
		"/abs/patwatch.yaml":  "/abs/patwatch.decisions.yaml",
		"patwatch.yaml.local": "patwatch.yaml.local.decisions.yaml",
	} {
		if got := DefaultDecisionsFile(in); got != want {
			t.Errorf("DefaultDecisionsFile(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckDecision(t *testing.T) {
	s, err := loadWithDecisions(t, decisionsSpec, "")
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.CheckDecision(Decision{PatentPN: "CN215812345U", Verdict: VerdictReport, Searches: []string{"hinges"}}); len(errs) != 0 {
		t.Errorf("a good decision refused: %v", errs)
	}
	errs := s.CheckDecision(Decision{PatentPN: "CN305104902S", Verdict: VerdictReport, Searches: []string{"hinge"}})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	want := []string{`the spec has no search named "hinge"`, "CN305104902S is a design patent; PatSnap's value reports do not cover design patents"}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("CheckDecision: %q, want %q", msgs, want)
	}
	if _, err := ParseVerdict("not_relevent"); err == nil || !strings.Contains(err.Error(), "unknown verdict") {
		t.Errorf("ParseVerdict: %v", err)
	}
}

func TestDecisionsFileNotRegular(t *testing.T) {
	path := writeSpec(t, decisionsSpec, nil)
	if err := os.Mkdir(filepath.Join(filepath.Dir(path), "spec.decisions.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	got := problemLines(t, err)
	if len(got) != 1 || !strings.Contains(got[0], "the decisions file is a directory") {
		t.Errorf("problems: %q", got)
	}
}

// BenchmarkLoadWithDecisions loads a spec with a decisions file of 10,000
// entries (issue 23, Measure); BenchmarkLoadWithoutDecisions is the same
// spec alone.
func BenchmarkLoadWithDecisions(b *testing.B)    { benchLoadDecisions(b, 10_000) }
func BenchmarkLoadWithoutDecisions(b *testing.B) { benchLoadDecisions(b, 0) }

func benchLoadDecisions(b *testing.B, n int) {
	dir := b.TempDir()
	path := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(path, []byte(decisionsSpec), 0o644); err != nil {
		b.Fatal(err)
	}
	if n > 0 {
		var d strings.Builder
		d.WriteString("version: 1\ndecisions:\n")
		for i := range n {
			fmt.Fprintf(&d, "  CN%09dU:\n    verdict: not_relevant\n    by: alice\n    at: 2026-12-07\n", i)
		}
		if err := os.WriteFile(filepath.Join(dir, "spec.decisions.yaml"), []byte(d.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
