package filestore

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestCrashWhileSaving kills a process that saves in a loop with SIGKILL at
// random moments, 200 times. After every kill the state must load and be
// the last save the child reported or the one it was making, and the backup
// must be the save before that.
func TestCrashWhileSaving(t *testing.T) {
	kills := 200
	if testing.Short() || raceEnabled {
		kills = 20
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "patwatch.state.json")
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var reported uint64 // the last step a child said it saved
	var lineage string
	var landed, between int // kills that landed after a rename not yet reported, or between the backup and the rename
	for kill := range kills {
		cmd := child(t, "saver", path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		// Let it save at least once, so that each kill can land inside
		// a save that replaces an existing file.
		if !lines.Scan() {
			cmd.Wait()
			t.Fatalf("kill %d: the saver stopped before saving", kill)
		}
		reported, _ = strconv.ParseUint(lines.Text(), 10, 64)
		// The random moment: somewhere in the next few saves.
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() {
			reported, _ = strconv.ParseUint(lines.Text(), 10, 64)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: the saver ended by itself: %v", kill, err)
		}

		st, err := Load(path)
		if err != nil {
			t.Fatalf("kill %d: %v", kill, err)
		}
		if st.Serial != reported && st.Serial != reported+1 {
			t.Fatalf("kill %d: state has serial %d; the last save reported was %d", kill, st.Serial, reported)
		}
		if st.Serial == reported+1 {
			landed++
		}
		if lineage == "" {
			lineage = st.Lineage
		}
		want := crashState(lineage, st.Serial)
		want.Serial = st.Serial
		st.PatwatchVersion = want.PatwatchVersion
		if !reflect.DeepEqual(st, want) {
			t.Fatalf("kill %d: state at serial %d does not hold that save's content", kill, st.Serial)
		}
		if st.Serial > 1 {
			backup, err := Load(BackupPath(path))
			if err != nil {
				t.Fatalf("kill %d: backup: %v", kill, err)
			}
			if backup.Serial != st.Serial-1 && backup.Serial != st.Serial {
				t.Fatalf("kill %d: backup has serial %d, state %d", kill, backup.Serial, st.Serial)
			}
			if backup.Serial == st.Serial {
				between++
			}
			want := crashState(lineage, backup.Serial)
			want.Serial = backup.Serial
			backup.PatwatchVersion = want.PatwatchVersion
			if !reflect.DeepEqual(backup, want) {
				t.Fatalf("kill %d: backup at serial %d does not hold that save's content", kill, backup.Serial)
			}
		}
	}
	// Killed saves may leave temporary files, never anything else, and
	// the next run to take the lock removes them.
	temps := 0
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		switch name := e.Name(); {
		case name == "patwatch.state.json", name == "patwatch.state.json.backup":
		case matches(name, ".patwatch.state.json.tmp-*") || matches(name, ".patwatch.state.json.backup.tmp-*"):
			temps++
		default:
			t.Errorf("unexpected file %s", name)
		}
	}
	l, err := Lock(t.Context(), path, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(left) > 0 {
		t.Errorf("after Lock, %d temporary files left: %v", len(left), left)
	}
	t.Logf("%d kills over %d saves; %d after a rename the saver had not reported, %d between backup and rename; %d temporary files left behind", kills, reported, landed, between, temps)
}

func matches(name, pattern string) bool {
	ok, _ := filepath.Match(pattern, name)
	return ok
}
