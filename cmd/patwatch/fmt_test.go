package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/spec"
)

// TestFmtExamples: fmt of every example spec keeps every search's
// fingerprint, and a second fmt finds nothing to change.
func TestFmtExamples(t *testing.T) {
	examples, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(examples) < 2 {
		t.Fatalf("examples: %v %v", examples, err)
	}
	for _, ex := range examples {
		t.Run(filepath.Base(ex), func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			data, err := os.ReadFile(ex)
			if err != nil {
				t.Fatal(err)
			}
			h.writeSpec(string(data))
			copyDir(t, "../../examples/images", h.path("images"))
			before, err := spec.Load(h.path("patwatch.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if code, _, errOut := h.run(context.Background(), "fmt", "-f", h.path("patwatch.yaml")); code != exitOK {
				t.Fatalf("fmt: exit %d\n%s", code, errOut)
			}
			after, err := spec.Load(h.path("patwatch.yaml"))
			if err != nil {
				t.Fatalf("the formatted spec does not load: %v", err)
			}
			for i, s := range before.Searches {
				if got := after.Searches[i]; got.Name != s.Name || got.Fingerprint != s.Fingerprint {
					t.Errorf("search %s: fingerprint %s after fmt, %s before", s.Name, got.Fingerprint, s.Fingerprint)
				}
			}
			if code, out, errOut := h.run(context.Background(), "fmt", "--check", "-f", h.path("patwatch.yaml")); code != exitOK || out != "" {
				t.Errorf("fmt --check after fmt: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestFmtCheckAndDiff(t *testing.T) {
	h := newHarness(t, fake.Options{})
	messy := "searches:\n    - model: 1\n      name: a\n      image: https://img.test/a.png\n      patent_type: D\nversion: 1\n"
	h.writeSpec(messy)
	decisions := "decisions:\n    CN1S:\n        verdict: relevant\nversion: 1\n" // keys in the schema's order: version first
	if err := os.WriteFile(h.path("patwatch.decisions.yaml"), []byte(decisions), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := h.run(context.Background(), "fmt", "--check", "-f", h.path("patwatch.yaml"))
	if code != exitError || out != h.path("patwatch.yaml")+"\n"+h.path("patwatch.decisions.yaml")+"\n" {
		t.Errorf("fmt --check: exit %d, stdout %q; want exit 1 and both files", code, out)
	}
	code, out, _ = h.run(context.Background(), "fmt", "--check", "--diff", "-f", h.path("patwatch.yaml"))
	if code != exitError || !strings.Contains(out, "-    - model: 1\n") || !strings.Contains(out, "+  - name: a\n") {
		t.Errorf("fmt --check --diff: exit %d\n%s", code, out)
	}
	if got, _ := os.ReadFile(h.path("patwatch.yaml")); string(got) != messy {
		t.Error("fmt --check changed the spec")
	}
	h.stdin = messy
	code, out, _ = h.run(context.Background(), "fmt", "-f", "-")
	want := "version: 1\nsearches:\n  - name: a\n    image: https://img.test/a.png\n    patent_type: D\n    model: 1\n"
	if code != exitOK || out != want {
		t.Errorf("fmt -f -: exit %d\n%s\nwant\n%s", code, out, want)
	}
	if code, _, errOut := h.run(context.Background(), "fmt", "-f", h.path("patwatch.yaml")); code != exitOK {
		t.Fatalf("fmt: exit %d\n%s", code, errOut)
	}
	if got, _ := os.ReadFile(h.path("patwatch.yaml")); !bytes.Equal(got, []byte(want)) {
		t.Errorf("fmt wrote\n%s\nwant\n%s", got, want)
	}
	if got, _ := os.ReadFile(h.path("patwatch.decisions.yaml")); string(got) != "version: 1\ndecisions:\n  CN1S:\n    verdict: relevant\n" {
		t.Errorf("fmt wrote the decisions file\n%s", got)
	}
}

// copyDir copies the files of the directory src (not its subdirectories)
// into dst, made for them.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
