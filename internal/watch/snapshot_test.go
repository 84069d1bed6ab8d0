package watch

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSnapshot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	// set writes (or, for a nil value, removes) each file.
	set := func(contents map[string]*string) {
		for p, c := range contents {
			if c == nil {
				if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				continue
			}
			writeFile(t, p, *c)
		}
	}
	s := func(v string) *string { return &v }

	steps := []struct {
		name    string
		files   map[string]*string
		changed bool // compared with the previous step
	}{
		{"start", map[string]*string{a: s("ab"), b: s("")}, true},
		{"rewrite same content", map[string]*string{a: s("ab"), b: s("")}, false},
		{"content moves across files", map[string]*string{a: s("a"), b: s("b")}, true},
		{"content changes", map[string]*string{a: s("a"), b: s("c")}, true},
		{"changed back", map[string]*string{a: s("a"), b: s("b")}, true},
		{"b missing", map[string]*string{b: nil}, true},
		{"b still missing", map[string]*string{}, false},
		{"b present but empty", map[string]*string{b: s("")}, true},
		{"b missing again", map[string]*string{b: nil}, true},
	}
	var prev string
	for i, st := range steps {
		set(st.files)
		got, err := Snapshot(a, b)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if i > 0 && (got != prev) != st.changed {
			t.Errorf("%s: digest changed = %t, want %t", st.name, got != prev, st.changed)
		}
		prev = got
	}
}

func TestSnapshotDistinguishesPathsAndOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, a, "same")
	writeFile(t, b, "same")
	digest := func(paths ...string) string {
		d, err := Snapshot(paths...)
		must(t, err)
		return d
	}
	seen := map[string]string{}
	for name, d := range map[string]string{
		"none":     digest(),
		"a":        digest(a),
		"b":        digest(b),
		"a b":      digest(a, b),
		"b a":      digest(b, a),
		"missing":  digest(filepath.Join(dir, "c")),
		"a a":      digest(a, a),
		"missing2": digest(filepath.Join(dir, "d")),
	} {
		if other, dup := seen[d]; dup {
			t.Errorf("%q and %q have the same digest", name, other)
		}
		seen[d] = name
	}
	if first, again := digest(a, b), digest(a, b); first != again {
		t.Error("digest not deterministic")
	}
}

func TestSnapshotErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Snapshot(dir); err == nil {
		t.Error("Snapshot of a directory succeeded")
	}
	if os.Geteuid() != 0 { // root reads anything
		locked := filepath.Join(dir, "locked")
		writeFile(t, locked, "x")
		must(t, os.Chmod(locked, 0))
		if _, err := Snapshot(locked); err == nil {
			t.Error("Snapshot of an unreadable file succeeded")
		}
	}
}
