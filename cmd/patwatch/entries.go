package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/store"
)

// runStateList prints one line per entry the state holds.
func runStateList(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "state list")
	st := addStateFlags(fs, "list")
	var format string
	flagvalue.ChoiceVar(fs, &format, "format", report.FormatText, "format", []string{report.FormatText, report.FormatJSON}, "output format: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sp, _ := loadSpec(e, st.spec) // nil without a valid spec: no entry is then suspended or removed
	s, err := openState(ctx, resolveState(e, st.state, st.spec), st.spec)
	if err != nil {
		return err
	}
	defer s.Close()
	recorded, err := s.Load(ctx) // empty when there is none
	if err != nil {
		return err
	}
	return report.RenderEntries(e.stdout, report.Entries(recorded, sp), format)
}

// runStateRm forgets entries that left the spec.
func runStateRm(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "state rm")
	st := addStateFlags(fs, "forget the entries of")
	var lockTimeout time.Duration
	flagvalue.DurationVar(fs, &lockTimeout, "lock-timeout", 0, flagvalue.Duration{AllowZero: true, Sample: "10m"},
		"how long to wait for a run to release the state's lock")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return hint.Wrap(errors.New("state rm takes the NAME of each entry to forget"),
			"patwatch state list lists the entries the state holds, and which left the spec")
	}
	sp, err := loadSpec(e, st.spec)
	if err != nil {
		return specError(e.stderr, st.spec, err)
	}
	s, err := openState(ctx, resolveState(e, st.state, st.spec), st.spec)
	if err != nil {
		return err
	}
	defer s.Close()
	gone, err := store.Forget(ctx, s, sp, names, lockTimeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Forgot %s.\n", strings.Join(gone, ", "))
	return nil
}
