package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/report"
)

// runShowIn runs "patwatch show args..." in process, with $DIR in args
// standing for dir, and returns the exit code and both outputs with dir
// written back as $DIR.
func runShowIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"show"}, args...), func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	return code, strings.ReplaceAll(stdout.String(), dir, "$DIR"), strings.ReplaceAll(stderr.String(), dir, "$DIR")
}

// copyFixture puts testdata/show/name in dir as patwatch.state.json.
func copyFixture(t *testing.T, dir, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "show", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "patwatch.state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestShow(t *testing.T) {
	tests := []struct {
		name    string
		fixture string // copied to $DIR/patwatch.state.json; "" for none
		raw     string // or these bytes
		args    []string
		code    int
		golden  string // compared with stdout, then stderr
	}{
		{name: "text", fixture: "sample.state.json", args: []string{"--state", "$DIR/patwatch.state.json"}, golden: "sample.txt"},
		// -f locates the state beside a spec that need not exist.
		{name: "beside the spec", fixture: "sample.state.json", args: []string{"-f", "$DIR/absent.yaml"}, golden: "sample.txt"},
		{name: "json", fixture: "sample.state.json", args: []string{"--state", "$DIR/patwatch.state.json", "--format", "json"}, golden: "sample.state.json"},
		{name: "empty state", raw: `{"format_version":1,"serial":1,"lineage":"l-1","patwatch_version":"dev","searches":{},"reports":{}}`,
			args: []string{"-f", "$DIR/patwatch.yaml"}, golden: "empty.txt"},
		{name: "no state yet", args: []string{"-f", "$DIR/patwatch.yaml"}, golden: "none.txt"},
		// --format json is JSON whatever the state: the empty state when there is none.
		{name: "no state yet, json", args: []string{"-f", "$DIR/patwatch.yaml", "--format", "json"}, golden: "none.json"},
		{name: "truncated", raw: `{"format_version":1,"serial":1,"lin`, args: []string{"-f", "$DIR/patwatch.yaml"}, code: 1, golden: "truncated.stderr"},
		{name: "newer", raw: `{"format_version":3,"patwatch_version":"3.4.0"}`, args: []string{"-f", "$DIR/patwatch.yaml"}, code: 1, golden: "newer.stderr"},
		{name: "bad format", args: []string{"--format", "yaml"}, code: 1, golden: "badformat.stderr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.fixture != "" {
				copyFixture(t, dir, tt.fixture)
			}
			if tt.raw != "" {
				os.WriteFile(filepath.Join(dir, "patwatch.state.json"), []byte(tt.raw), 0o600)
			}
			code, stdout, stderr := runShowIn(t, dir, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if tt.code == 0 {
				if stderr != "" {
					t.Errorf("stderr: %s", stderr)
				}
				golden(t, filepath.Join("testdata", "show", tt.golden), stdout)
			} else {
				if stdout != "" {
					t.Errorf("stdout: %s", stdout)
				}
				golden(t, filepath.Join("testdata", "show", tt.golden), stderr)
			}
		})
	}
}

// TestShowEscapesControlCharacters: text from the state cannot drive the
// terminal.
func TestShowEscapesControlCharacters(t *testing.T) {
	dir := t.TempDir()
	raw := `{"format_version":1,"serial":1,"lineage":"l","searches":{"s":{"fingerprint":"sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","baseline_at":"2026-01-01T00:00:00Z","hits":{"X1":{"first_seen":"2026-01-01T00:00:00Z","title":"evil\u001b]0;pwned\u0007\ttab\nline"}}}},"reports":{}}`
	os.WriteFile(filepath.Join(dir, "patwatch.state.json"), []byte(raw), 0o600)
	code, stdout, _ := runShowIn(t, dir, "--state", "$DIR/patwatch.state.json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.ContainsAny(stdout, "\x1b\x07") || !strings.Contains(stdout, `evil\x1b]0;pwned\a\ttab\nline`) {
		t.Errorf("control characters not escaped:\n%q", stdout)
	}
}

// TestShowMarksASandboxState: a state --sandbox runs wrote says so.
func TestShowMarksASandboxState(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, dir, "sample.state.json")
	os.WriteFile(filepath.Join(dir, "patwatch.state.json.sandbox"), []byte("{}"), 0o600)
	code, stdout, _ := runShowIn(t, dir, "--state", "$DIR/patwatch.state.json")
	if code != 0 || !strings.Contains(stdout, "written by:  patwatch 1.2.3, with --sandbox: its hits and reports are simulated\n") {
		t.Errorf("exit %d; the sandbox's state is not marked:\n%s", code, stdout)
	}
}

// TestShowAlignsWideCharacters: columns line up on a terminal when titles
// hold CJK characters, two cells each.
func TestShowAlignsWideCharacters(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, dir, "sample.state.json")
	_, stdout, _ := runShowIn(t, dir, "--state", "$DIR/patwatch.state.json")
	var cols []int
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.HasPrefix(line, "    ") {
			continue
		}
		// The display column at which the ASSIGNEE column starts.
		i := strings.LastIndex(line, "  ")
		cols = append(cols, report.DisplayWidth(line[:i+2]))
	}
	if len(cols) != 3 || cols[0] != cols[1] || cols[1] != cols[2] {
		t.Errorf("the last column starts at display columns %v, want one column:\n%s", cols, stdout)
	}
}
