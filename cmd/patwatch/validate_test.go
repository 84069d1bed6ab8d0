package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/schema"
)

// runCmd runs patwatch in process and returns its exit code and outputs.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}
	code = run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"quickstart", []string{"validate", "-f", "../../examples/quickstart.yaml"}, 0},
		{"competitive-monitoring", []string{"validate", "--f", "../../examples/competitive-monitoring.yaml"}, 0},
		{"empty-lists", []string{"validate", "-f", "testdata/validate/empty-lists.yaml"}, 0},
		{"bad", []string{"validate", "-f", "testdata/validate/bad.yaml"}, 1},
		{"one-problem", []string{"validate", "-f", "testdata/validate/one-problem.yaml"}, 1},
		{"emptied", []string{"validate", "-f", "testdata/validate/emptied.yaml"}, 1},
		{"garbage", []string{"validate", "-f", "testdata/validate/garbage.yaml"}, 1},
		{"missing-file", []string{"validate", "-f", "testdata/validate/no-such-spec.yaml"}, 1},
		{"directory", []string{"validate", "-f", "testdata/validate"}, 1},
		{"positional-spec", []string{"validate", "testdata/validate/bad.yaml"}, 1},
		{"bad-log-level", []string{"validate", "-f", "../../examples/quickstart.yaml", "--log-level", "loud"}, 1},
		{"help", []string{"validate", "-h"}, 0},
		{"interval-number", []string{"validate", "-f", "testdata/validate/interval-number.yaml"}, 1},
		{"x-anchors", []string{"validate", "-f", "testdata/validate/x-anchors.yaml"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tt.code, stderr)
			}
			got := fmt.Sprintf("$ patwatch %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(tt.args, " "), code, stdout, stderr)
			golden(t, filepath.Join("testdata", "validate", tt.name+".golden"), got)
		})
	}
}

// TestValidateOutputIsStable runs an invalid spec repeatedly: its problems
// must come out in the same order, as the same bytes, every time.
func TestValidateOutputIsStable(t *testing.T) {
	_, _, first := runCmd(t, "validate", "-f", "testdata/validate/bad.yaml")
	for i := 0; i < 10; i++ {
		if _, _, got := runCmd(t, "validate", "-f", "testdata/validate/bad.yaml"); got != first {
			t.Fatalf("run %d differs:\n%s\n---\n%s", i, got, first)
		}
	}
}

func TestValidateDefaultsToPatwatchYAML(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "patwatch.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	code, stdout, stderr := runCmd(t, "validate")
	if code != 0 || stdout != "ok: 2 searches, 1 report\n" || stderr != "" {
		t.Errorf("validate in a directory with patwatch.yaml: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestValidateProblemLinesAreLocated(t *testing.T) {
	// Every line that is neither a hint nor the count must read
	// FILE:LINE:COL: …, with FILE exactly as given on the command line.
	_, _, stderr := runCmd(t, "validate", "-f", "testdata/validate/bad.yaml")
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("stderr:\n%s", stderr)
	}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "patwatch: hint: "):
		case strings.HasPrefix(l, "patwatch: error: ") && strings.HasSuffix(l, " problems in testdata/validate/bad.yaml"):
		default:
			var line, col int
			rest, ok := strings.CutPrefix(l, "testdata/validate/bad.yaml:")
			if _, err := fmt.Sscanf(rest, "%d:%d:", &line, &col); !ok || err != nil || line < 1 || col < 1 {
				t.Errorf("line %q is not FILE:LINE:COL: …", l)
			}
		}
	}
}

func TestValidateLogsAtDebug(t *testing.T) {
	code, stdout, stderr := runCmd(t, "validate", "-f", "../../examples/quickstart.yaml", "--log-level", "debug", "--log-format", "json")
	if code != 0 || stdout != "ok: 2 searches, 1 report\n" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{`"level":"debug"`, `"search":"phone-designs"`, `"fingerprint":"sha256:`, `"message":"spec is valid"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("debug log lacks %s:\n%s", want, stderr)
		}
	}
	if _, _, stderr := runCmd(t, "validate", "-f", "../../examples/quickstart.yaml"); stderr != "" {
		t.Errorf("validate logs at the default level: %q", stderr)
	}
}

func TestSchemaCommand(t *testing.T) {
	code, stdout, stderr := runCmd(t, "schema")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if stdout != string(schema.JSON()) {
		t.Error("patwatch schema does not print the embedded schema")
	}
	if code, _, _ := runCmd(t, "schema", "extra"); code != 1 {
		t.Errorf("schema with an argument: exit %d, want 1", code)
	}
}
