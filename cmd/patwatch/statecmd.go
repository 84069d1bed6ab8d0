package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/pgstore"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
	"github.com/patwatch/patwatch/state/statefile"
)

func runStatePull(ctx context.Context, e env, args []string) int {
	fs := flagSet(e, "state pull")
	st := addStateFlags(fs, "print")
	var serial *uint64
	fs.Func("serial", "print the state as saved at serial `N` (a database keeps every serial; a state file, its backup's)", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return errors.New("not a whole number")
		}
		serial = &n
		return nil
	})
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	t, err := st.open(e)
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	defer t.close()
	var got *state.State
	if serial != nil {
		got, err = t.loadSerial(ctx, *serial)
	} else {
		got, err = t.loadExisting(ctx)
	}
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	b, err := statefile.Marshal(got)
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	if memory, err := t.sandboxMemory(ctx); err == nil && memory != nil {
		// The JSON cannot say so, and the state it is pushed into would
		// take the simulated hits for real ones.
		fmt.Fprintf(e.stderr, "patwatch: warning: %s was written by --sandbox runs: its hits are simulated, and the JSON does not say so\n", t)
		fmt.Fprintln(e.stderr, "patwatch: hint: push it only into another sandbox state; 'patwatch state push FILE' of a state file carries its sandbox memory along")
	}
	if _, err := e.stdout.Write(b); err != nil {
		printError(e.stderr, err)
		return exitError
	}
	return exitOK
}

func runStatePush(ctx context.Context, e env, args []string) int {
	fs := flagSet(e, "state push")
	st := addStateFlags(fs, "replace")
	force := fs.Bool("force", false, "replace a state of another lineage, or a newer one")
	var lockTimeout time.Duration
	durationVar(fs, &lockTimeout, "lock-timeout", 0, durationValue{allowZero: true, sample: "10m"},
		"how long to wait for a run to release the state's lock")
	pos, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		printError(e.stderr, withHint(fmt.Errorf("state push takes one FILE, not %d arguments", len(pos)),
			"name the state file to push, or - for standard input: patwatch state push patwatch.state.json --state postgres://…"))
		return exitError
	}
	if err := statePush(ctx, e, st, pos[0], *force, lockTimeout); err != nil {
		printError(e.stderr, err)
		return exitError
	}
	return exitOK
}

// stateFlags name the state of a pull or push.
type stateFlags struct {
	state, spec string
}

func addStateFlags(fs *flag.FlagSet, verb string) *stateFlags {
	f := &stateFlags{}
	fs.StringVar(&f.state, "state", "", verb+" `STATE`: a state file, or a postgres:// URL (default: $PATWATCH_STATE, else patwatch.state.json beside the spec)")
	fs.StringVar(&f.spec, "f", defaultSpec, "the `SPEC` the state belongs to; the state defaults to patwatch.state.json beside it")
	return f
}

// stateTarget is the state a pull or push names: a file, or a state in a
// database.
type stateTarget struct {
	path string // the state file, when it is one
	pg   *pgstore.Store
}

// resolveState is the state --state names for the spec at specPath:
// flagValue, else $PATWATCH_STATE, else patwatch.state.json beside the
// spec.
func resolveState(e env, flagValue, specPath string) string {
	if flagValue == "" {
		flagValue = e.getenv("PATWATCH_STATE")
	}
	if flagValue == "" {
		flagValue = filepath.Join(filepath.Dir(specPath), "patwatch.state.json")
	}
	return flagValue
}

// openPGState opens the database state the postgres:// URL of --state names.
func openPGState(rawURL string) (*pgstore.Store, error) {
	pg, err := pgstore.Open(rawURL, pgstore.Options{Version: version})
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	return pg, nil
}

func (f *stateFlags) open(e env) (*stateTarget, error) {
	s := resolveState(e, f.state, f.spec)
	if pgstore.IsURL(s) {
		pg, err := openPGState(s)
		if err != nil {
			return nil, err
		}
		return &stateTarget{pg: pg}, nil
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return nil, err
	}
	return &stateTarget{path: abs}, nil
}

func (t *stateTarget) String() string {
	if t.pg != nil {
		return t.pg.String()
	}
	return t.path
}

func (t *stateTarget) close() {
	if t.pg != nil {
		t.pg.Close()
	}
}

func (t *stateTarget) exists(ctx context.Context) (bool, error) {
	if t.pg != nil {
		return t.pg.Exists(ctx)
	}
	_, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// loadExisting loads the state, which must exist: pulling nothing is an
// error, not an empty state.
func (t *stateTarget) loadExisting(ctx context.Context) (*state.State, error) {
	ok, err := t.exists(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		if t.pg != nil {
			return nil, withHint(fmt.Errorf("%s holds no state named %s", t.pg, t.pg.StateName()), "'patwatch apply' creates it; 'patwatch state push FILE' moves one there")
		}
		return nil, withHint(fmt.Errorf("state file %s does not exist", t.path), "'patwatch apply' creates it; name another with --state")
	}
	return t.load(ctx)
}

func (t *stateTarget) load(ctx context.Context) (*state.State, error) {
	if t.pg != nil {
		return t.pg.Load(ctx)
	}
	return filestore.Load(t.path)
}

// loadSerial loads the state as saved at serial n: a database keeps them
// all; a state file, its current serial and its backup's.
func (t *stateTarget) loadSerial(ctx context.Context, n uint64) (*state.State, error) {
	if t.pg != nil {
		return t.pg.LoadSerial(ctx, n)
	}
	cur, err := t.loadExisting(ctx)
	if err != nil {
		return nil, err
	}
	if cur.Serial == n {
		return cur, nil
	}
	backup := filestore.BackupPath(t.path)
	if _, err := os.Stat(backup); err == nil {
		if b, err := filestore.Load(backup); err == nil && b.Serial == n {
			return b, nil
		}
	}
	return nil, withHint(fmt.Errorf("state file %s is at serial %d, and its backup does not hold serial %d", t.path, cur.Serial, n),
		"a state file keeps only its current serial and the previous one; git keeps the rest, and a database state keeps every serial")
}

// sandboxMemory is the memory of the --sandbox runs that wrote the state,
// nil for a state of real runs.
func (t *stateTarget) sandboxMemory(ctx context.Context) ([]byte, error) {
	var b []byte
	var err error
	if t.pg != nil {
		b, err = t.pg.ReadAux(ctx, runner.SandboxAux)
	} else {
		b, err = os.ReadFile(filestore.AuxPath(t.path, runner.SandboxAux))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func (t *stateTarget) writeSandboxMemory(ctx context.Context, b []byte) error {
	if t.pg != nil {
		return t.pg.WriteAux(ctx, runner.SandboxAux, b)
	}
	return atomicfile.WriteFile(filestore.AuxPath(t.path, runner.SandboxAux), b, 0o600)
}

func (t *stateTarget) lock(ctx context.Context, timeout time.Duration) (func() error, error) {
	if t.pg != nil {
		return t.pg.Lock(ctx, "state push", timeout)
	}
	held, err := filestore.Lock(ctx, t.path, "state push", timeout)
	if err != nil {
		return nil, err
	}
	return held.Unlock, nil
}

// statePush replaces the state with the one in file ("-": standard input).
// It refuses a state of another lineage, or one older than the current
// (a lower serial, or the same serial with other content), unless forced;
// a forced push is given the serial after the current one, so that serials
// never go back and, in a database, every earlier serial stays readable.
func statePush(ctx context.Context, e env, f *stateFlags, file string, force bool, timeout time.Duration) error {
	pushed, err := readStateFile(e, file)
	if err != nil {
		return err
	}
	t, err := f.open(e)
	if err != nil {
		return err
	}
	defer t.close()
	unlock, err := t.lock(ctx, timeout)
	if err != nil {
		return err
	}
	defer unlock()

	exists, err := t.exists(ctx)
	if err != nil {
		return err
	}
	// A state that --sandbox runs wrote goes with their memory, and never
	// over a real one: simulated hits would pass for real ones.
	var memory []byte
	if file != "-" {
		if memory, err = (&stateTarget{path: file}).sandboxMemory(ctx); err != nil {
			return err
		}
	}
	targetMemory, err := t.sandboxMemory(ctx)
	if err != nil {
		return err
	}
	switch {
	case memory != nil && exists && targetMemory == nil && !force:
		return withHint(fmt.Errorf("%s was written by --sandbox runs and %s holds a real watch list's state: its hits are simulated; not replacing it", file, t),
			"push it into a state of its own; --force replaces the real state anyway")
	case memory == nil && targetMemory != nil && !force:
		return withHint(fmt.Errorf("%s was written by --sandbox runs, and %s is not known to be: not replacing it", t, file),
			"--force replaces it, and the state stays marked as written by --sandbox runs")
	}
	serial := pushed.Serial
	var cur *state.State
	if exists {
		if cur, err = t.load(ctx); err != nil {
			return err
		}
		serial, err = pushSerial(file, t, cur, pushed, force)
		if err != nil {
			return err
		}
		if serial == 0 { // it holds this state already
			fmt.Fprintf(e.stdout, "%s already holds %s (serial %d); nothing to push.\n", t, file, cur.Serial)
			return nil
		}
	}
	if t.pg != nil {
		if err := t.pg.Replace(ctx, pushed, serial); err != nil {
			return err
		}
	} else {
		pushed.Serial = serial
		if err := filestore.Replace(t.path, pushed); err != nil {
			return err
		}
	}
	if memory != nil {
		if err := t.writeSandboxMemory(ctx, memory); err != nil {
			return fmt.Errorf("pushed %s to %s as serial %d, but not the memory of its --sandbox runs: %w", file, t, serial, err)
		}
	}
	fmt.Fprintf(e.stdout, "Pushed %s to %s as serial %d.\n", file, t, serial)
	return nil
}

// pushSerial decides the serial a push writes over cur, or refuses it; 0
// means the state holds the pushed one already.
func pushSerial(file string, t *stateTarget, cur, pushed *state.State, force bool) (uint64, error) {
	const hint = "pass --force to replace it anyway; 'patwatch state pull' saves the current state first"
	switch {
	case cur.Lineage != pushed.Lineage && !force:
		return 0, withHint(fmt.Errorf("%s has lineage %s, %s has %s: they are different states; not replacing it", t, cur.Lineage, file, pushed.Lineage), hint)
	case cur.Lineage != pushed.Lineage:
		return max(pushed.Serial, cur.Serial+1), nil
	case pushed.Serial > cur.Serial:
		return pushed.Serial, nil
	}
	a, err := statefile.Marshal(cur)
	if err != nil {
		return 0, err
	}
	same := *pushed
	same.Serial = cur.Serial
	same.PatwatchVersion = cur.PatwatchVersion
	b, err := statefile.Marshal(&same)
	if err != nil {
		return 0, err
	}
	switch {
	case pushed.Serial == cur.Serial && bytes.Equal(a, b):
		return 0, nil
	case !force && pushed.Serial == cur.Serial:
		return 0, withHint(fmt.Errorf("%s holds other content at serial %d, the serial of %s; not replacing it", t, cur.Serial, file), hint)
	case !force:
		return 0, withHint(fmt.Errorf("%s is at serial %d, and %s at %d: it is older; not replacing the newer state", t, cur.Serial, file, pushed.Serial), hint)
	}
	return cur.Serial + 1, nil
}

// readStateFile loads the state file to push, which must exist.
func readStateFile(e env, file string) (*state.State, error) {
	path := file
	if file == "-" {
		tmp, err := os.CreateTemp("", "patwatch-push-*.json")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		_, err = io.Copy(tmp, e.stdin)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("read the state from standard input: %w", err)
		}
		path = tmp.Name()
	} else if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("state push: %w", err)
	}
	st, err := filestore.Load(path)
	if err != nil {
		return nil, err
	}
	return st, nil
}
