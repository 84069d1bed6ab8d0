package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// storeWithSave is a FileStore over a saved sample state, loaded.
func storeWithSave(t *testing.T) (*Store, *state.State) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	mustSave(t, path, sampleState())
	fs, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := fs.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fs, st
}

// TestFileStoreRefusesAReplacedFile: a state file replaced between the
// run's Load and its Save (a git pull or checkout) is not written over,
// whatever it holds; the error says what was loaded and what is there.
func TestFileStoreRefusesAReplacedFile(t *testing.T) {
	newer := func(t *testing.T, path string, edit func(*state.State)) []byte {
		t.Helper()
		other, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		edit(other)
		b, err := statefile.Marshal(other)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name     string
		replace  func(t *testing.T, path string)
		wantWhat string
		wantIn   []string
	}{
		{"a newer serial of the same lineage, renamed into place", func(t *testing.T, path string) {
			b := newer(t, path, func(s *state.State) { s.Serial += 2; s.Searches["added-upstream"] = s.Searches["phone-designs"] })
			tmp := path + ".new"
			if err := os.WriteFile(tmp, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, "replaced", []string{"the run loaded serial 8 of lineage", "the file now holds serial 10 of lineage"}},
		{"the same bytes written in place", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			later := time.Now().Add(time.Hour)
			os.Chtimes(path, later, later)
		}, "replaced", nil},
		{"another branch's file of another lineage", func(t *testing.T, path string) {
			other := sampleState()
			other.Lineage = state.New().Lineage
			os.Remove(path)
			mustSave(t, path, other)
		}, "replaced", nil},
		{"removed", func(t *testing.T, path string) { os.Remove(path) }, "removed", []string{"the file now holds no file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, st := storeWithSave(t)
			tt.replace(t, fs.Path)
			before, _ := os.ReadFile(fs.Path)
			st.Searches["mine"] = st.Searches["phone-designs"]
			written, err := fs.Save(context.Background(), st)
			var re *ReplacedError
			if !errors.As(err, &re) || written || re.What != tt.wantWhat {
				t.Fatalf("Save: written %v, %v; want a *ReplacedError (%s)", written, err, tt.wantWhat)
			}
			for _, want := range append(tt.wantIn, "while this run held its lock", "not writing over it") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if !strings.Contains(re.Hint(), "not saved") {
				t.Errorf("hint %q", re.Hint())
			}
			if after, _ := os.ReadFile(fs.Path); string(after) != string(before) {
				t.Error("the replaced file was written over")
			}
		})
	}
}

func TestFileStoreRefusesAFileCreatedSinceTheLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	fs, _ := New(path)
	st, err := fs.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	other := sampleState()
	other.Lineage = st.Lineage // even of the same lineage
	mustSave(t, path, other)
	var re *ReplacedError
	if _, err := fs.Save(context.Background(), st); !errors.As(err, &re) || re.What != "created" {
		t.Fatalf("Save: %v; want a *ReplacedError (created)", err)
	}
}

// TestFileStoreSavesAgainAfterItsOwnSave: the store's own saves, and loads
// in between, are no replacement.
func TestFileStoreSavesAgainAfterItsOwnSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	fs, _ := New(path)
	st, _ := fs.Load(context.Background())
	st.Searches = sampleState().Searches
	for i := range 3 {
		st.Searches["extra"] = &state.Search{Fingerprint: st.Searches["phone-designs"].Fingerprint, BaselineAt: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC)}
		if written, err := fs.Save(context.Background(), st); err != nil || !written {
			t.Fatalf("save %d: written %v, %v", i, written, err)
		}
	}
	if written, err := fs.Save(context.Background(), st); err != nil || written {
		t.Fatalf("an unchanged save: written %v, %v", written, err)
	}
	st2, err := fs.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st2.Searches["more"] = st2.Searches["extra"]
	if _, err := fs.Save(context.Background(), st2); err != nil {
		t.Fatal(err)
	}
}

// TestStateRefusesPipesAndDevices: a named pipe or device at the state path
// is refused at once, by Lock and Load, instead of blocking on a read with
// the lock held.
func TestStateRefusesPipesAndDevices(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	for _, path := range []string{fifo, os.DevNull} {
		done := make(chan error, 2)
		go func() {
			_, err := Load(path)
			done <- err
		}()
		go func() {
			fs, _ := New(path)
			_, err := fs.Lock(context.Background(), "apply", 0)
			done <- err
		}()
		for range 2 {
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a state file") {
					t.Errorf("%s: %v; want a refusal", path, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: still blocked after 10s", path)
			}
		}
	}
	if _, err := os.Stat(LockPath(fifo)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a lock was taken for the pipe: %v", err)
	}
}

func TestFileStoreReserved(t *testing.T) {
	dir := t.TempDir()
	fs, _ := New(filepath.Join(dir, "s.json"))
	for _, p := range []string{"s.json", "s.json.backup", "s.json.lock", "s.json.watch.lock", "s.json.sandbox"} {
		if !fs.Reserved(filepath.Join(dir, p), "sandbox") {
			t.Errorf("%s is not reserved", p)
		}
	}
	if fs.Reserved(filepath.Join(dir, "report.md"), "sandbox") {
		t.Error("report.md is reserved")
	}
}
