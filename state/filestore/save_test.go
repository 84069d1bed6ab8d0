package filestore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/internal/statetest"
	"github.com/patwatch/patwatch/state/statefile"
)

func statOf(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// sampleState exercises every field, escapes and non-ASCII text.
func sampleState() *state.State { return statetest.Sample() }

// sampleJSON is the state file of sampleState, a golden file of
// state/statefile, which the tests here cut and edit.
var sampleJSON = filepath.Join("..", "statefile", "testdata", "sample.json")

// saveFile saves st to the state file at path through a store that has
// loaded nothing, which checks only what the file holds.
func saveFile(path string, st *state.State) (bool, error) {
	s, err := New(path)
	if err != nil {
		return false, err
	}
	return s.Save(context.Background(), st)
}

func mustSave(t *testing.T, path string, st *state.State) bool {
	t.Helper()
	written, err := saveFile(path, st)
	if err != nil {
		t.Fatal(err)
	}
	return written
}

func TestSaveNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	st := sampleState()
	st.Serial = 0
	if !mustSave(t, path, st) {
		t.Fatal("first Save wrote nothing")
	}
	if st.Serial != 1 {
		t.Errorf("serial after the first save = %d, want 1", st.Serial)
	}
	if mode := statOf(t, path).Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %v, want 0600", mode)
	}
	got, _ := os.ReadFile(path)
	want, _ := statefile.Marshal(st)
	if !bytes.Equal(got, want) {
		t.Errorf("file holds:\n%s\nwant Marshal's bytes:\n%s", got, want)
	}
	if _, err := os.Stat(BackupPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a first save made a backup: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestSaveUnchangedWritesNothing: a run that found nothing makes no diff,
// not even a new serial, and does not touch the file.
func TestSaveUnchangedWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	mustSave(t, path, sampleState())
	before := statOf(t, path)
	beforeBytes, _ := os.ReadFile(path)
	// Make any rewrite visible in the mtime even on coarse clocks.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(path, old, old)

	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	serial := st.Serial
	st.PatwatchVersion = "9.9.9" // not content
	// Equal content built differently: times in another zone.
	cet := time.FixedZone("CET", 3600)
	st.Searches["phone-designs"].BaselineAt = st.Searches["phone-designs"].BaselineAt.In(cet)
	if mustSave(t, path, st) {
		t.Fatal("Save of unchanged content wrote")
	}
	after := statOf(t, path)
	if !os.SameFile(before, after) || !after.ModTime().Equal(old) || st.Serial != serial {
		t.Errorf("unchanged save touched the file: same inode %v, mtime %v (want %v), serial %d (want %d)",
			os.SameFile(before, after), after.ModTime(), old, st.Serial, serial)
	}
	afterBytes, _ := os.ReadFile(path)
	if !bytes.Equal(beforeBytes, afterBytes) {
		t.Error("unchanged save changed the bytes")
	}
	if _, err := os.Stat(BackupPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Error("unchanged save made a backup")
	}
}

// TestSaveChangeBumpsSerialAndKeepsBackup covers changes anywhere in the
// file: header, first and last hit, reports, a removal.
func TestSaveChangeBumpsSerialAndKeepsBackup(t *testing.T) {
	changes := []struct {
		name   string
		mutate func(*state.State)
	}{
		{"new hit", func(s *state.State) { s.Searches["phone-designs"].Hits["AA1"] = &state.Hit{Title: "first"} }},
		{"last hit's field", func(s *state.State) { s.Searches["phone-designs"].Hits["EU0065350760001S"].Pbdt++ }},
		{"missing count", func(s *state.State) { s.Searches["phone-designs"].Hits["CN305467890S"].Missing = 2 }},
		{"hit removed", func(s *state.State) { delete(s.Searches["phone-designs"].Hits, "EU0065350760001S") }},
		{"search removed", func(s *state.State) { delete(s.Searches, "phone-designs") }},
		{"report status", func(s *state.State) { s.Reports["us-pending"].Status = state.ReportDownloaded }},
		{"everything removed", func(s *state.State) { s.Searches = nil; s.Reports = nil }},
		{"fingerprint", func(s *state.State) { s.Searches["empty.search"].Fingerprint = "sha256:" + strings.Repeat("01", 32) }},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "patwatch.state.json")
			mustSave(t, path, sampleState())
			previous, _ := os.ReadFile(path)
			st, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			serial := st.Serial
			c.mutate(st)
			if !mustSave(t, path, st) {
				t.Fatal("Save of changed content wrote nothing")
			}
			if st.Serial != serial+1 {
				t.Errorf("serial %d, want %d", st.Serial, serial+1)
			}
			got, _ := os.ReadFile(path)
			want, _ := statefile.Marshal(st)
			if !bytes.Equal(got, want) {
				t.Errorf("file holds:\n%s\nwant:\n%s", got, want)
			}
			backup, err := os.ReadFile(BackupPath(path))
			if err != nil || !bytes.Equal(backup, previous) {
				t.Errorf("backup does not hold the previous version (%v)", err)
			}
			if mode := statOf(t, path).Mode().Perm(); mode != 0o600 {
				t.Errorf("mode %v, want 0600", mode)
			}
			reloaded, err := Load(path)
			if err != nil || reloaded.Serial != serial+1 || reloaded.Lineage != st.Lineage {
				t.Errorf("reload: %v, serial %d, lineage %q", err, reloaded.Serial, reloaded.Lineage)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.tmp-*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestSaveEqualContentEqualBytes: two states with equal content, built in
// different orders and zones, give identical files.
func TestSaveEqualContentEqualBytes(t *testing.T) {
	a := sampleState()
	b := sampleState()
	// Rebuild b's maps in another insertion order and zone.
	hits := map[string]*state.Hit{}
	for _, pn := range []string{"EU0065350760001S", "CN305467890S"} {
		h := *b.Searches["phone-designs"].Hits[pn]
		h.FirstSeen = h.FirstSeen.In(time.FixedZone("X", -7*3600)).Add(300 * time.Millisecond)
		hits[pn] = &h
	}
	b.Searches["phone-designs"].Hits = hits
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	b.Lineage = a.Lineage
	mustSave(t, pa, a)
	mustSave(t, pb, b)
	ba, _ := os.ReadFile(pa)
	bb, _ := os.ReadFile(pb)
	if !bytes.Equal(ba, bb) {
		t.Errorf("equal content, different bytes:\n%s\n%s", ba, bb)
	}
}

// TestSaveNormalisesHandEdits: a valid file that is not in canonical form
// (hand-edited) counts as changed and is rewritten canonically.
func TestSaveNormalisesHandEdits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	mustSave(t, path, sampleState())
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")), 0o600)
	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !mustSave(t, path, st) {
		t.Error("a non-canonical file was not rewritten")
	}
	got, _ := os.ReadFile(path)
	want, _ := statefile.Marshal(st)
	if !bytes.Equal(got, want) {
		t.Error("rewrite is not canonical")
	}
}

func TestSaveRefusesOtherLineage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	mustSave(t, path, sampleState())
	before, _ := os.ReadFile(path)
	other := sampleState()
	other.Lineage = "another"
	_, err := saveFile(path, other)
	var le *LineageError
	if !errors.As(err, &le) {
		t.Fatalf("Save over another lineage: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("file changed")
	}
}

func TestSaveRefusesNewerFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	newer := `{"format_version":3,"patwatch_version":"3.0.0","lineage":"x"}`
	os.WriteFile(path, []byte(newer), 0o600)
	_, err := saveFile(path, sampleState())
	var ve *statefile.VersionError
	if !errors.As(err, &ve) || ve.FormatVersion != 3 || ve.PatwatchVersion != "3.0.0" {
		t.Fatalf("Save over a newer format: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != newer {
		t.Error("file changed")
	}
}

// TestSaveRefusesUnsortedDuplicate: a duplicate key hidden in unsorted
// keys is found in the slow path of the check.
func TestSaveRefusesUnsortedDuplicate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	bad := `{"format_version":1,"lineage":"x","searches":{"s":{"hits":{"B":{},"A":{},"B":{}}}}}`
	os.WriteFile(path, []byte(bad), 0o600)
	st := sampleState()
	st.Lineage = "x"
	if _, err := saveFile(path, st); err == nil || !strings.Contains(err.Error(), `duplicate patent_pn "B"`) {
		t.Fatalf("Save = %v, want a refusal naming the duplicate", err)
	}
	// Unsorted but valid keys are no obstacle.
	os.WriteFile(path, []byte(`{"format_version":1,"lineage":"x","searches":{"s":{"fingerprint":"sha256:`+strings.Repeat("0", 64)+`","baseline_at":"2026-01-01T00:00:00Z","hits":{"B":{},"A":{}}}}}`), 0o600)
	if written, err := saveFile(path, st); err != nil || !written {
		t.Fatalf("Save over unsorted valid keys = %v, %v", written, err)
	}
}

func TestSaveUnreadableFile(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads any file")
	}
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	mustSave(t, path, sampleState())
	os.Chmod(path, 0)
	if _, err := Load(path); err == nil {
		t.Error("Load of an unreadable file succeeded")
	}
	if _, err := saveFile(path, sampleState()); err == nil {
		t.Error("Save over an unreadable file succeeded")
	}
}

func TestSaveThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	link := filepath.Join(dir, "link.json")
	mustSave(t, real, sampleState())
	if err := os.Symlink("real.json", link); err != nil {
		t.Skip(err)
	}
	st, _ := Load(link)
	changed := "sha256:" + strings.Repeat("c", 64)
	st.Searches["empty.search"].Fingerprint = changed
	mustSave(t, link, st)
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	if got, _ := Load(real); got.Searches["empty.search"].Fingerprint != changed {
		t.Error("the link's target was not updated")
	}
}

// TestSaveCreatesDirectory: a --state in a new directory works.
func TestSaveCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "s.json")
	if _, err := saveFile(path, sampleState()); err != nil {
		t.Fatal(err)
	}
}

func TestSaveHonoursUmaskIndependentMode(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "s.json")
	mustSave(t, path, sampleState())
	st, _ := Load(path)
	st.Serial = 0
	st.Searches["empty.search"].Fingerprint = "sha256:" + strings.Repeat("f", 64)
	mustSave(t, path, st)
	for _, p := range []string{path, BackupPath(path)} {
		if mode := statOf(t, p).Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, mode)
		}
	}
}

// TestSaveLargeChanges: in a file of many write chunks, a change late in
// the body keeps the agreeing prefix copied from the old file, and the
// result is exactly Marshal's bytes.
func TestSaveLargeChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	st := statetest.Big(3, 2000)
	mustSave(t, path, st)
	for i, mutate := range []func(){
		func() { st.Searches["search-0002"].Hits["EU0000000021999S"].Title = "changed near the end" },
		func() { st.Searches["search-0001"].Hits["EU0000000011000S"].Missing++ },
		func() { delete(st.Searches, "search-0002") }, // the file gets shorter
		func() { st.Reports["z"] = &state.Report{Format: "pdf", Status: state.ReportPending} },
	} {
		before, _ := os.ReadFile(path)
		mutate()
		if !mustSave(t, path, st) {
			t.Fatalf("change %d: nothing written", i)
		}
		got, _ := os.ReadFile(path)
		want, _ := statefile.Marshal(st)
		if !bytes.Equal(got, want) {
			t.Fatalf("change %d: file is not Marshal's bytes (%d vs %d bytes)", i, len(got), len(want))
		}
		if backup, _ := os.ReadFile(BackupPath(path)); !bytes.Equal(backup, before) {
			t.Fatalf("change %d: backup is not the previous file", i)
		}
		if mustSave(t, path, st) {
			t.Fatalf("change %d: a second save of the same content wrote", i)
		}
	}
}
