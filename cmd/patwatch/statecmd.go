package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/store"
)

func runStatePull(ctx context.Context, e env, args []string) error {
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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := openState(ctx, resolveState(e, st.state, st.spec), st.spec)
	if err != nil {
		return err
	}
	defer s.Close()
	if sim, err := store.Simulated(ctx, s); err == nil && sim {
		// The JSON cannot say so, and the state it is pushed into would
		// take the simulated hits for real ones.
		fmt.Fprintf(e.stderr, "patwatch: warning: %s was written by --sandbox runs: its hits are simulated, and the JSON does not say so\n", s)
		fmt.Fprintln(e.stderr, "patwatch: hint: push it only into another sandbox state; 'patwatch state push FILE' of a state file carries its sandbox memory along")
	}
	// Streamed: the state is held once, as loaded, not its JSON as well.
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	if serial != nil {
		err = store.PullSerial(ctx, s, *serial, w)
	} else {
		err = store.Pull(ctx, s, w)
	}
	return cli.Join(err, w.Flush())
}

func runStatePush(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "state push")
	st := addStateFlags(fs, "replace")
	force := fs.Bool("force", false, "replace a state of another lineage, or a newer one")
	var lockTimeout time.Duration
	flagvalue.DurationVar(fs, &lockTimeout, "lock-timeout", 0, flagvalue.Duration{AllowZero: true, Sample: "10m"},
		"how long to wait for a run to release the state's lock")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return hint.Wrap(fmt.Errorf("state push takes one FILE, not %d arguments", len(pos)),
			"name the state file to push, or - for standard input: patwatch state push patwatch.state.json --state postgres://…")
	}
	return statePush(ctx, e, st, pos[0], store.PushOptions{From: pos[0], Force: *force, LockTimeout: lockTimeout})
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

// openState opens the state target names, a state file or a postgres://
// URL, for the spec at specPath. The caller closes it.
func openState(ctx context.Context, target, specPath string) (store.Store, error) {
	s, err := store.Open(ctx, target, store.Options{Version: version, SpecPath: specPath})
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	return s, nil
}

// statePush replaces the state f names with the one in file ("-":
// standard input), under store.Push's policy.
func statePush(ctx context.Context, e env, f *stateFlags, file string, o store.PushOptions) error {
	path := file
	if file == "-" {
		tmp, err := stdinFile(e)
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		path = tmp
	} else if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("state push: %w", err)
	}
	src, err := openState(ctx, path, f.spec)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openState(ctx, resolveState(e, f.state, f.spec), f.spec)
	if err != nil {
		return err
	}
	defer dst.Close()
	r, err := store.Push(ctx, dst, src, o)
	switch {
	case err != nil:
		return err
	case r.Unchanged:
		fmt.Fprintf(e.stdout, "%s already holds %s (serial %d); nothing to push.\n", dst, file, r.Serial)
	default:
		fmt.Fprintf(e.stdout, "Pushed %s to %s as serial %d.\n", file, dst, r.Serial)
	}
	return nil
}

// stdinFile copies standard input to a temporary file, which the caller
// removes, and returns its path.
func stdinFile(e env) (string, error) {
	tmp, err := os.CreateTemp("", "patwatch-push-*.json")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(tmp, e.stdin)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("read the state from standard input: %w", err)
	}
	return tmp.Name(), nil
}
