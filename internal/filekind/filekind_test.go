package filekind

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOf(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{file, ""},
		{dir, "a directory"},
		{os.DevNull, "a device"},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := Of(fi); got != c.want {
			t.Errorf("Of(%s) = %q; want %q", c.path, got, c.want)
		}
	}
}
