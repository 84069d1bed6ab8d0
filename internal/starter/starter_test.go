package starter

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesAreWhatInitWrites keeps examples/ci equal to init --ci github.
func TestExamplesAreWhatInitWrites(t *testing.T) {
	for _, wf := range ciWorkflows {
		want, err := render(wf.template, pathsFor("patwatch.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", wf.template))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("examples/ci/%s differs from what init writes (files/%s)", wf.template, wf.template)
		}
	}
}

// TestReadmeGitignoreIsInits keeps the README's .gitignore advice and what
// init writes the same lines.
func TestReadmeGitignoreIsInits(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```gitignore\n")
	block, _, _ = strings.Cut(block, "```")
	want, _ := files.ReadFile("files/gitignore")
	if !ok || block != string(want) {
		t.Errorf("the README's .gitignore block differs from files/gitignore:\n%s", block)
	}
}
