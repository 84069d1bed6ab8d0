package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// markIn writes the decisions file src (none when ""), loads decisionsSpec
// and applies m; it returns the file afterwards ("" when there is none).
func markIn(t *testing.T, src string, m Marks) (string, []Marked, error) {
	t.Helper()
	files := map[string][]byte{}
	if src != "" {
		files["spec.decisions.yaml"] = []byte(src)
	}
	path := writeSpec(t, decisionsSpec, files)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.Mark(m)
	b, rerr := os.ReadFile(filepath.Join(filepath.Dir(path), "spec.decisions.yaml"))
	if rerr != nil && !os.IsNotExist(rerr) {
		t.Fatal(rerr)
	}
	return string(b), done, err
}

const commented = `# Triage of the phone designs.
version: 1

decisions:
  # Kitchen scales, all of them.
  CN305104902S:
    verdict: not_relevant # checked twice
    note: kitchen scale

  CN305104903S: {verdict: relevant}   # a phone
  # Worth a look.
  CN215812345U:
    verdict: report
# end of the decisions
`

func TestMarkKeepsCommentsAndOrder(t *testing.T) {
	got, done, err := markIn(t, commented, Marks{Patents: []string{"CN305104903S", "CN305104909S"}, Verdict: VerdictNotRelevant, By: "bob", At: "2026-12-07"})
	if err != nil {
		t.Fatal(err)
	}
	want := `# Triage of the phone designs.
version: 1

decisions:
  # Kitchen scales, all of them.
  CN305104902S:
    verdict: not_relevant # checked twice
    note: kitchen scale

  CN305104903S: # a phone
    verdict: not_relevant
    by: bob
    at: 2026-12-07
  # Worth a look.
  CN215812345U:
    verdict: report
  CN305104909S:
    verdict: not_relevant
    by: bob
    at: 2026-12-07
# end of the decisions
`
	if got != want {
		t.Errorf("after mark:\n%s\nwant:\n%s", got, want)
	}
	wantDone := []Marked{{"CN305104903S", VerdictRelevant, VerdictNotRelevant}, {"CN305104909S", "", VerdictNotRelevant}}
	if !reflect.DeepEqual(done, wantDone) {
		t.Errorf("Marked = %+v, want %+v", done, wantDone)
	}
}

func TestMarkReplacesADecisionWhole(t *testing.T) {
	got, _, err := markIn(t, commented, Marks{Patents: []string{"CN305104902S"}, Verdict: VerdictRelevant, Searches: []string{"phone-designs"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "  CN305104902S:\n    verdict: relevant # checked twice\n    searches: [phone-designs]\n\n  CN305104903S:"
	if !strings.Contains(got, want) {
		t.Errorf("after mark:\n%s\nwant it to hold:\n%s", got, want)
	}
}

func TestMarkNoneRemoves(t *testing.T) {
	got, done, err := markIn(t, commented, Marks{Patents: []string{"CN305104902S", "CN215812345U", "CN305104903S", "CN999999999S"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "# Triage of the phone designs.\nversion: 1\n\ndecisions: {}\n# end of the decisions\n"
	if got != want {
		t.Errorf("after removing every decision:\n%q\nwant:\n%q", got, want)
	}
	if done[3] != (Marked{PatentPN: "CN999999999S"}) {
		t.Errorf("a patent without a decision: %+v", done[3])
	}
}

func TestMarkCreatesTheFile(t *testing.T) {
	got, _, err := markIn(t, "", Marks{Patents: []string{"CN305104902S"}, Verdict: VerdictNotRelevant, Note: "kitchen scale: not a phone", At: "2026-12-07"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# yaml-language-server: $schema=https://raw.githubusercontent.com/patwatch/patwatch/main/schema/decisions.schema.json\n" +
		"# The analyst's decisions on hits: see 'patwatch help mark'.\nversion: 1\ndecisions:\n" +
		"  CN305104902S:\n    verdict: not_relevant\n    note: 'kitchen scale: not a phone'\n    at: 2026-12-07\n"
	if got != want {
		t.Errorf("a new file:\n%s\nwant:\n%s", got, want)
	}
}

// TestMarkRefusesBadInputFileUntouched: a malformed number, a search the
// spec does not have, a report on a design patent: refused, the file as
// it was (and none created).
func TestMarkRefusesBadInputFileUntouched(t *testing.T) {
	for name, m := range map[string]Marks{
		"number":  {Patents: []string{"CN305104903S", "cn305104904s"}, Verdict: VerdictRelevant},
		"search":  {Patents: []string{"CN305104903S"}, Verdict: VerdictRelevant, Searches: []string{"phone"}},
		"design":  {Patents: []string{"CN305104903S"}, Verdict: VerdictReport},
		"verdict": {Patents: []string{"CN305104903S"}, Verdict: "maybe"},
		"none":    {},
	} {
		for _, src := range []string{commented, ""} {
			got, _, err := markIn(t, src, m)
			if err == nil {
				t.Errorf("%s: no error", name)
			}
			if got != src {
				t.Errorf("%s: the file changed:\n%s", name, got)
			}
		}
	}
}
