package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/spec"
)

// command is one entry of the command table. Everything a user is told about
// a command comes from here and from the flags its run function registers:
// help, the synopsis and completion are generated from both, so a flag added
// to a command shows up in all three without another edit.
type command struct {
	name    string
	summary string // one line, for the command list
	// args is the synopsis of the positional arguments ("FILE",
	// "[NAME...]"); empty when the command takes none.
	args     string
	about    string   // what the command does, for its help
	examples []string // command lines, each optionally followed by "  # why"
	// exits overrides the exit codes help lists; nil: 0 and 1, and 2 when
	// the command takes --detailed-exitcode.
	exits []exitMeaning
	// run parses the command's flags with flagSet and parseFlags (or
	// parseArgs) before it does anything else: -h must print help and
	// return, so that help and completion can ask any command for its flags.
	// It prints no error: runEnv prints the one it returns.
	run func(ctx context.Context, e env, args []string) error
	// sub holds subcommands ("state pull"); a command with subcommands has
	// no run of its own.
	sub []command
}

type exitMeaning struct {
	code    int
	meaning string
}

// findCommand resolves args to a command of table and the arguments left
// for it. The command returned carries its full path as name ("state push").
func findCommand(table []command, args []string) (command, []string, error) {
	var path []string
	for {
		name := args[0]
		i := slices.IndexFunc(table, func(c command) bool { return c.name == name })
		if i < 0 {
			return command{}, nil, unknownCommand(path, name, table)
		}
		c := table[i]
		path = append(path, c.name)
		args = args[1:]
		if len(c.sub) == 0 {
			c.name = strings.Join(path, " ")
			return c, args, nil
		}
		if len(args) == 0 || isHelpArg(args[0]) {
			c.name = strings.Join(path, " ")
			return c, args, nil // its run is nil: the caller prints the group's help
		}
		table = c.sub
	}
}

func unknownCommand(path []string, name string, table []command) error {
	var names []string
	for _, c := range table {
		names = append(names, c.name)
	}
	where := "patwatch"
	if len(path) > 0 {
		where = "patwatch " + strings.Join(path, " ")
	}
	var hints []string
	if best := spec.Suggest(name, names); best != "" {
		hints = append(hints, fmt.Sprintf("did you mean %s %s?", where, best))
	}
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
		hints = append(hints, "name the spec after the command: patwatch apply -f "+name)
	}
	if len(path) > 0 {
		hints = append(hints, fmt.Sprintf("run 'patwatch help %s' for its subcommands", strings.Join(path, " ")))
	} else {
		hints = append(hints, "run 'patwatch help' for the list of commands")
	}
	return hint.Wrap(fmt.Errorf("unknown command %q", strings.Join(append(slices.Clone(path), name), " ")), hints...)
}

// lookupCommand finds the command whose full path is name, or nil.
func lookupCommand(name string) *command {
	table := commands()
	var found *command
	for _, part := range strings.Fields(name) {
		i := slices.IndexFunc(table, func(c command) bool { return c.name == part })
		if i < 0 {
			return nil
		}
		found = &table[i]
		table = found.sub
	}
	return found
}

func isHelpArg(a string) bool {
	switch a {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// flagSet returns the FlagSet of the command named name (its full path,
// such as "apply" or "state push"). Its -h prints the command's help on
// stdout; parseFlags returns parse errors in patwatch's own form.
func flagSet(e env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { writeHelp(e.stdout, fs) }
	if e.flagSink != nil {
		e.flagSink(fs)
	}
	return fs
}

// parseFlags parses args, which must hold flags only. An error ends the
// command: flag.ErrHelp once -h has printed its help (exit 0), or a wrong
// flag or argument, explained (exit 1).
func parseFlags(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return unexpectedArgument(fs, pos[0])
	}
	return nil
}

// unexpectedArgument is the error of the positional argument arg, which
// the command of fs does not take.
func unexpectedArgument(fs *flag.FlagSet, arg string) error {
	hints := []string{fmt.Sprintf("run 'patwatch %s -h' for its flags", fs.Name())}
	if looksLikeSpec(arg) {
		hints = []string{"name the spec with -f " + arg}
	}
	return hint.Wrap(fmt.Errorf("unexpected argument %q", arg), hints...)
}

// looksLikeSpec reports whether the argument arg names a spec: a YAML
// file, or standard input.
func looksLikeSpec(arg string) bool {
	return strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || arg == "-"
}

// parseArgs parses args, flags and positional arguments in any order (a
// "--" ends the flags), and returns the positional ones; fs.Args holds them
// too. An error ends the command, as with parseFlags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := flagvalue.Parse(fs, args, func(name string) error { return unknownFlag(fs, name) })
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
	}
	return pos, err
}

// unknownFlag explains a flag fs does not take: the one probably meant,
// what patwatch calls a Terraform flag, or the commands that do take it.
func unknownFlag(fs *flag.FlagSet, name string) error {
	return hint.Wrap(fmt.Errorf("%s has no flag %s", fs.Name(), flagName(name)), flagHints(fs, name)...)
}

// flagHints are the hints of unknownFlag.
func flagHints(fs *flag.FlagSet, name string) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	var hints []string
	if th := terraformHint(fs, name); th != "" {
		hints = append(hints, th)
	} else if best := spec.Suggest(name, names); best != "" {
		hints = append(hints, fmt.Sprintf("did you mean %s?", flagName(best)))
	} else if others := commandsWithFlag(name); len(others) > 0 {
		hints = append(hints, fmt.Sprintf("%s is a flag of %s", flagName(name), strings.Join(others, ", ")))
	}
	return append(hints, fmt.Sprintf("run 'patwatch %s -h' for its flags", fs.Name()))
}

// commandsWithFlag lists the commands that take the flag name.
func commandsWithFlag(name string) []string {
	var out []string
	for _, c := range allCommands() {
		if fs := describe(c); fs != nil && fs.Lookup(name) != nil {
			out = append(out, c.name)
		}
	}
	return out
}

// allCommands is the command table flattened: every runnable command with
// its full path as name.
func allCommands() []command {
	var out []command
	var walk func(prefix string, table []command)
	walk = func(prefix string, table []command) {
		for _, c := range table {
			c.name = strings.TrimSpace(prefix + " " + c.name)
			if len(c.sub) > 0 {
				walk(c.name, c.sub)
				continue
			}
			out = append(out, c)
		}
	}
	walk("", commands())
	return out
}

// describe returns the flags c registers, by running it with -h in an
// environment that discards its output.
func describe(c command) *flag.FlagSet {
	if c.run == nil {
		return nil
	}
	var got *flag.FlagSet
	e := env{
		getenv:   func(string) string { return "" },
		stdin:    strings.NewReader(""),
		stdout:   io.Discard,
		stderr:   io.Discard,
		flagSink: func(fs *flag.FlagSet) { got = fs },
	}
	c.run(context.Background(), e, []string{"-h"})
	return got
}

// flagName is how help and messages write a flag: -f, --state.
func flagName(name string) string { return flagvalue.Name(name) }
