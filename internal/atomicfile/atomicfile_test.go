package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileNewRespectsUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "r.pdf")
	if err := WriteFile(path, []byte("%PDF-1.7"), 0o666); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), fs.FileMode(0o640); got != want {
		t.Errorf("mode %v, want %v (0666 less the umask 027)", got, want)
	}
}

func TestReplaceKeepsModeAndContentIsWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new content"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "new content" || fi.Mode().Perm() != 0o640 {
		t.Errorf("got %q mode %v, want the new content with the old mode 0640", b, fi.Mode().Perm())
	}
	assertNoTemps(t, filepath.Dir(path))
}

func TestSymlinkIsFollowedAndKept(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	link := filepath.Join(dir, "link.json")
	if err := os.WriteFile(real, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.json", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Errorf("the link's target holds %q, want new", b)
	}
}

func TestAbortLeavesTargetAndNoTemp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.md")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	f.Abort()
	f.Abort() // idempotent
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("target holds %q after abort, want old", b)
	}
	assertNoTemps(t, filepath.Dir(path))
	if err := f.Commit(); err == nil {
		t.Error("commit after abort succeeded")
	}
}

func TestCommitIntoMissingDirectoryFails(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "no", "such", "f"), 0o644)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error", err)
	}
}

func TestCleanTemps(t *testing.T) {
	dir := t.TempDir()
	// What a killed writer leaves: a temporary file that was never committed.
	f, err := Create(filepath.Join(dir, "patwatch.state.json"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.f.Close()
	g, err := Create(filepath.Join(dir, "other.pdf"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	g.f.Close()
	for _, keep := range []string{"patwatch.state.json", ".hidden", ".x.tmp-notahexsuffix"} {
		os.WriteFile(filepath.Join(dir, keep), nil, 0o600)
	}
	n, err := CleanTemps(dir, "patwatch.state.json")
	if err != nil || n != 1 {
		t.Fatalf("CleanTemps(base) = %d, %v; want 1", n, err)
	}
	n, err = CleanTemps(dir, "")
	if err != nil || n != 1 {
		t.Fatalf("CleanTemps(all) = %d, %v; want 1", n, err)
	}
	for _, keep := range []string{"patwatch.state.json", ".hidden", ".x.tmp-notahexsuffix"} {
		if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
			t.Errorf("%s was removed", keep)
		}
	}
	if n, err := CleanTemps(filepath.Join(dir, "missing"), ""); n != 0 || err != nil {
		t.Errorf("missing directory: %d, %v", n, err)
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if IsTemp(e.Name()) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
