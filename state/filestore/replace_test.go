package filestore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// TestReplace: Replace writes the state as given, serial and lineage
// included, over a file of another lineage or a higher serial, keeping
// that file as the backup and its mode.
func TestReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	st := sampleState()
	st.Serial = 0
	if err := Replace(path, st); err != nil {
		t.Fatal(err)
	}
	want, _ := statefile.Marshal(st)
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("new file holds:\n%s\nwant Marshal's bytes:\n%s", got, want)
	}
	if mode := statOf(t, path).Mode().Perm(); mode != 0o600 {
		t.Errorf("new file has mode %v, want 0600", mode)
	}
	if _, err := os.Stat(BackupPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("replacing no file made a backup: %v", err)
	}

	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	other := state.New()
	other.Serial = 7
	if err := Replace(path, other); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(BackupPath(path)); !bytes.Equal(got, want) {
		t.Errorf("backup holds:\n%s\nwant the replaced file", got)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != 7 || got.Lineage != other.Lineage {
		t.Errorf("file holds serial %d of lineage %s, want 7 of %s", got.Serial, got.Lineage, other.Lineage)
	}
	if mode := statOf(t, path).Mode().Perm(); mode != 0o640 {
		t.Errorf("replaced file has mode %v, want its own 0640", mode)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
