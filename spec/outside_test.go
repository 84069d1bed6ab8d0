package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImagesOutsideTheSpecDirectory: a local image that leaves the spec's
// directory (by "..", as an absolute path elsewhere, through a symbolic
// link) is refused at its position with a hint naming the opt-in, unless
// the spec sets allow_outside_images (issue 25.3.7: plan uploads local
// images, and a live plan may run on a pull request's content). Paths that
// stay inside, a link among them, are accepted as before.
func TestImagesOutsideTheSpecDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "specs")
	outside := filepath.Join(root, "secret.png")
	for name, data := range map[string][]byte{
		outside:                               pngBytes,
		filepath.Join(dir, "in.png"):          pngBytes,
		filepath.Join(dir, "sub", "deep.png"): jpegBytes,
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link-out.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("sub", "deep.png"), filepath.Join(dir, "link-in.png")); err != nil {
		t.Fatal(err)
	}

	const opt = "version: 1\nallow_outside_images: true\nsearches:\n  - name: s\n    patent_type: D\n    model: 1\n    image: "
	const plain = "version: 1\nsearches:\n  - name: s\n    patent_type: D\n    model: 1\n    image: "
	tests := []struct {
		image string
		want  string // the problem without opting in; "" for none
	}{
		{"in.png", ""},
		{"sub/deep.png", ""},
		{"./sub/../in.png", ""},
		{filepath.Join(dir, "in.png"), ""},
		{"link-in.png", ""},
		{"../secret.png", `6:12: searches[0].image: image file "../secret.png" is outside the spec's directory`},
		{"sub/../../secret.png", `6:12: searches[0].image: image file "sub/../../secret.png" is outside the spec's directory`},
		{outside, "is outside the spec's directory"},
		{"link-out.png", `6:12: searches[0].image: image file "link-out.png" is a symbolic link to a file outside the spec's directory`},
	}
	for _, tt := range tests {
		got := loadProblems(t, dir, plain+tt.image+"\n")
		switch {
		case tt.want == "" && len(got) != 0:
			t.Errorf("%s: %q; want no problem", tt.image, got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
			t.Errorf("%s: %q; want %q", tt.image, got, tt.want)
		case tt.want != "" && !(strings.Contains(got[0], "hint: local images") && strings.Contains(got[0], "allow_outside_images: true")):
			t.Errorf("%s: %q; want a hint naming allow_outside_images", tt.image, got)
		}
		if got := loadProblems(t, dir, opt+tt.image+"\n"); len(got) != 0 {
			t.Errorf("%s with allow_outside_images: %q", tt.image, got)
		}
	}
	// A missing file outside is refused as outside: the loader does not
	// tell whether a file exists where the spec may not look.
	if got := loadProblems(t, dir, plain+"../nothing.png\n"); len(got) != 1 || !strings.Contains(got[0], "is outside the spec's directory") {
		t.Errorf("a missing file outside: %q", got)
	}
	// images: entries follow the same rule.
	src := "version: 1\nsearches:\n  - name: s\n    patent_type: D\n    model: 1\n    images: [in.png, ../secret.png]\n"
	if got := loadProblems(t, dir, src); len(got) != 1 || !strings.Contains(got[0], "searches[0].images[1]: image file \"../secret.png\" is outside") {
		t.Errorf("images: %q", got)
	}
}

// loadProblems writes src as dir/spec.yaml, loads it and returns its
// problems as "LINE:COL: path: message hint: HINT".
func loadProblems(t *testing.T, dir, src string) []string {
	t.Helper()
	p := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil {
		return nil
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("Load: %v", err)
	}
	var out []string
	for _, pr := range se.Problems {
		out = append(out, strings.TrimPrefix(pr.String(), p+":")+" hint: "+pr.Hint)
	}
	return out
}
