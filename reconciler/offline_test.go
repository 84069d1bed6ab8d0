package reconciler

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRenderOfflinePlanGolden(t *testing.T) {
	st := state.New()
	st.Searches["kept"] = &state.Search{Fingerprint: "f1", Hits: map[string]*state.Hit{"A": {}}}
	st.Searches["edited"] = &state.Search{Fingerprint: "f2", Hits: map[string]*state.Hit{"A": {}, "B": {}}}
	st.Searches["gone"] = &state.Search{Fingerprint: "f3", Hits: map[string]*state.Hit{"A": {}}}
	st.Searches["old-name"] = &state.Search{Fingerprint: "f4"}
	st.Reports["ready"] = &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "1", Status: state.ReportDownloaded, File: "reports/ready.pdf"}
	desired := &spec.Spec{
		Searches: []spec.Search{{Name: "kept", Fingerprint: "f1"}, {Name: "edited", Fingerprint: "f2x"}, {Name: "added", Fingerprint: "f5"}, {Name: "new-name", Fingerprint: "f4"}},
		Reports:  []spec.Report{{Name: "ready", PatentNumber: "CN1", Format: "pdf", Logo: true}, {Name: "wanted", PatentNumber: "CN2", Format: "word"}},
	}
	rep := PlanOffline(desired, st)
	for _, format := range []string{report.FormatText, report.FormatMarkdown} {
		var buf bytes.Buffer
		if err := report.Render(&buf, rep, format, false); err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("testdata", "plan-offline."+format+".golden"), buf.Bytes())
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
