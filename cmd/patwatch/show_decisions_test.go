package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// showDecisionsSpec is a spec for testdata/show/sample.state.json whose
// decisions file decides its two hits.
const showDecisionsSpec = `version: 1
searches:
  - name: phone-designs
    image: https://images.test/a.png
    patent_type: D
    model: 1
`

const showDecisions = `version: 1
decisions:
  CN305467890S: {verdict: not_relevant, note: "a case, not a phone"}
  EU0065350760001S: {verdict: relevant}
  CN108977442B: {verdict: relevant, searches: [phone-designs]}
`

// TestShowMarksDecisions: with a spec whose decisions file decides hits,
// show marks each in every format, a not_relevant one too (the state
// holds it); without the spec, nothing is marked.
func TestShowMarksDecisions(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, dir, "sample.state.json")
	os.WriteFile(filepath.Join(dir, "patwatch.yaml"), []byte(showDecisionsSpec), 0o644)
	os.WriteFile(filepath.Join(dir, "patwatch.decisions.yaml"), []byte(showDecisions), 0o644)

	code, stdout, stderr := runShowIn(t, dir, "-f", "$DIR/patwatch.yaml")
	if code != 0 || stderr != "" {
		t.Fatalf("show: exit %d\n%s", code, stderr)
	}
	golden(t, filepath.Join("testdata", "show", "decisions.txt"), stdout)

	code, stdout, _ = runShowIn(t, dir, "-f", "$DIR/patwatch.yaml", "--format", "json")
	var st struct {
		Searches map[string]struct {
			Hits map[string]map[string]any `json:"hits"`
		} `json:"searches"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); code != 0 || err != nil {
		t.Fatalf("show --format json: exit %d, %v\n%s", code, err, stdout)
	}
	hits := st.Searches["phone-designs"].Hits
	if hits["CN305467890S"]["decision"] != "not_relevant" || hits["EU0065350760001S"]["decision"] != "relevant" {
		t.Errorf("the JSON's decisions: %v", hits)
	}
	// Named entries are marked too.
	if code, stdout, _ = runShowIn(t, dir, "-f", "$DIR/patwatch.yaml", "--format", "json", "phone-designs"); code != 0 ||
		!strings.Contains(stdout, `"decision": "relevant"`) {
		t.Errorf("show --format json phone-designs: exit %d\n%s", code, stdout)
	}

	code, _, stderr = runShowIn(t, dir, "-f", "$DIR/patwatch.yaml", "--format", "html", "--out", "$DIR/gallery.html")
	page, _ := os.ReadFile(filepath.Join(dir, "gallery.html"))
	for _, want := range []string{`<span class="decision not_relevant">decision: not_relevant</span>`, `<span class="decision relevant">decision: relevant</span>`} {
		if code != 0 || !strings.Contains(string(page), want) {
			t.Errorf("show --format html: exit %d, the gallery lacks %q\n%s", code, want, stderr)
		}
	}

	// Without the spec (the state named by --state), no decision is known.
	_, stdout, _ = runShowIn(t, dir, "--state", "$DIR/patwatch.state.json", "-f", "$DIR/absent.yaml")
	if strings.Contains(stdout, "[relevant]") {
		t.Errorf("decisions shown without their spec:\n%s", stdout)
	}
	_, stdout, _ = runShowIn(t, dir, "--state", "$DIR/patwatch.state.json", "-f", "$DIR/absent.yaml", "--format", "json")
	want, _ := os.ReadFile(filepath.Join("testdata", "show", "sample.state.json"))
	if stdout != string(want) {
		t.Errorf("show --format json without decisions is not the state's JSON:\n%s", stdout)
	}
	// Without the spec, show is quiet: it needs none.
	if _, _, stderr := runShowIn(t, dir, "--state", "$DIR/patwatch.state.json", "-f", "$DIR/absent.yaml"); stderr != "" {
		t.Errorf("show without a spec warns:\n%s", stderr)
	}
}

// TestShowWarnsOfASpecThatDoesNotLoad: with a decisions file that is not
// YAML, show prints the state unmarked and says once why, naming the file
// and the command that lists its problems, even when it renders twice
// (the page to --out, the text to standard output).
func TestShowWarnsOfASpecThatDoesNotLoad(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, dir, "sample.state.json")
	os.WriteFile(filepath.Join(dir, "patwatch.yaml"), []byte(showDecisionsSpec), 0o644)
	os.WriteFile(filepath.Join(dir, "patwatch.decisions.yaml"), []byte("decisions: [\n"), 0o644)
	code, stdout, stderr := runShowIn(t, dir, "-f", "$DIR/patwatch.yaml", "--format", "html", "--out", "$DIR/gallery.html")
	if code != 0 || strings.Contains(stdout, "[relevant]") {
		t.Fatalf("show: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Count(stderr, "patwatch: warning:") != 1 || !strings.Contains(stderr, "does not load, so show marks no decision") ||
		!strings.Contains(stderr, "patwatch.decisions.yaml:1:") || !strings.Contains(stderr, "patwatch validate -f") {
		t.Errorf("stderr:\n%s", stderr)
	}
}
