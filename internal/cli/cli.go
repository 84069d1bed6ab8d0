// Package cli is patwatch's command-line framework: a table of commands
// (and groups of subcommands), each run with the program's environment E,
// and everything generated from that table and from the flags each command
// registers: dispatch, help and synopses, "did you mean" hints for a
// mistyped command or flag, the model of the completion scripts, and the
// one printer of a command's error with the exit status it means.
//
// The program (cmd/patwatch) supplies the table, its texts and a few hooks
// (App); everything it tells the user about a command comes from its
// Command entry and the flags its Run registers, so a flag added to a
// command shows up in its help, its synopsis and completion without another
// edit.
package cli

import (
	"context"
	"flag"
	"io"
	"slices"
	"strings"
)

// Command is one entry of the command table.
type Command[E any] struct {
	Name    string
	Summary string // one line, for the command list
	// Args is the synopsis of the positional arguments ("FILE",
	// "[NAME...]", "bash|zsh|fish" for a choice of words); empty when the
	// command takes none.
	Args     string
	About    string   // what the command does, for its help
	Examples []string // command lines, each optionally followed by "  # why"
	// Exits overrides the exit codes help lists; nil: those App.Exits gives.
	Exits []Exit
	// Run parses the command's flags with App.FlagSet and App.ParseFlags
	// (or App.ParseArgs) before it does anything else: -h must print help
	// and return, so that help and completion can ask any command for its
	// flags. It prints no error: App.Main prints the one it returns.
	Run func(ctx context.Context, e E, args []string) error
	// Sub holds subcommands ("state pull"); a command with subcommands has
	// no Run of its own.
	Sub []Command[E]
}

// Exit is an exit code and what it means, as a command's help lists it.
type Exit struct {
	Code    int
	Meaning string
}

// App is a program's command line: its command table, its texts, and what
// the framework needs of its environment E. Output, FlagSink, Quiet and
// Exits are required; the hints are optional.
type App[E any] struct {
	Name     string // the program's name, which every message and help starts with
	Commands []Command[E]
	// Intro and Outro frame the command list in the overview, the program's
	// own help: what it is and how it is called; where to go next.
	Intro, Outro string

	// Output returns e's standard output and standard error.
	Output func(e E) (stdout, stderr io.Writer)
	// FlagSink returns e's sink, to which FlagSet hands every FlagSet it
	// creates; nil for none.
	FlagSink func(e E) func(*flag.FlagSet)
	// Quiet returns an E that discards its output and whose FlagSink is
	// sink: the framework learns a command's flags by running it with -h
	// in it.
	Quiet func(sink func(*flag.FlagSet)) E
	// Exits returns the exit codes help lists for the command named name
	// (its full path), with the flags fs, when its entry sets none.
	Exits func(name string, fs *flag.FlagSet) []Exit

	// Global runs a program flag at the start of args, such as a
	// -chdir=DIR that goes before the command: ok reports whether args
	// start with one, rest is the command line left to run. Any other
	// flag before the command is explained as misplaced.
	Global func(e E, args []string) (rest []string, ok bool, err error)
	// CommandHint is a hint for name, which is no command ("" for none):
	// what the user probably meant instead.
	CommandHint func(name string) string
	// ArgumentHint is the hint for arg, a positional argument a command
	// does not take ("" for the default: where its flags are listed).
	ArgumentHint func(arg string) string
	// FlagHint is the hint for the flag name, which fs (a command's flags)
	// does not take ("" for none); it replaces the framework's "did you
	// mean".
	FlagHint func(fs *flag.FlagSet, name string) string
	// FilePlaceholders are the placeholders of flag values, besides FILE,
	// that name a file (completion offers files for them; DIR offers
	// directories).
	FilePlaceholders []string
}

// Main runs the command line args in e, prints the error it ends with on
// e's standard error, and returns the exit status that error means. It is
// the one place that prints a command's error.
func (a *App[E]) Main(ctx context.Context, e E, args []string) int {
	err := a.run(ctx, e, args)
	if err != nil {
		_, stderr := a.Output(e)
		a.printError(stderr, err)
	}
	return status(err)
}

// run runs the command line args: the overview, a command's help, a
// group's list of subcommands, or a command.
func (a *App[E]) run(ctx context.Context, e E, args []string) error {
	stdout, stderr := a.Output(e)
	if len(args) == 0 {
		a.overview(stderr)
		return ExitCode(StatusError)
	}
	switch args[0] {
	case "-h", "-help", "--help":
		a.overview(stdout)
		return nil
	case "help":
		return a.help(ctx, e, args[1:])
	}
	if a.Global != nil {
		if rest, ok, err := a.Global(e, args); ok {
			if err != nil {
				return err
			}
			return a.run(ctx, e, rest)
		}
	}
	if strings.HasPrefix(args[0], "-") {
		return a.flagBeforeCommand(args)
	}
	c, rest, err := a.find(a.Commands, args)
	if err != nil {
		return err
	}
	if c.Run == nil { // a group such as "state": its help
		if len(rest) == 0 {
			a.groupHelp(stderr, c)
			return ExitCode(StatusError)
		}
		a.groupHelp(stdout, c)
		return nil
	}
	return c.Run(ctx, e, rest)
}

// find resolves args to a command of table and the arguments left for it.
// The command returned carries its full path as Name ("state push").
func (a *App[E]) find(table []Command[E], args []string) (Command[E], []string, error) {
	var path []string
	for {
		name := args[0]
		i := slices.IndexFunc(table, func(c Command[E]) bool { return c.Name == name })
		if i < 0 {
			return Command[E]{}, nil, a.unknownCommand(path, name, table)
		}
		c := table[i]
		path = append(path, c.Name)
		args = args[1:]
		if len(c.Sub) == 0 {
			c.Name = strings.Join(path, " ")
			return c, args, nil
		}
		if len(args) == 0 || isHelpArg(args[0]) {
			c.Name = strings.Join(path, " ")
			return c, args, nil // its Run is nil: the caller prints the group's help
		}
		table = c.Sub
	}
}

// lookup finds the command whose full path is name, or nil.
func (a *App[E]) lookup(name string) *Command[E] {
	table := a.Commands
	var found *Command[E]
	for _, part := range strings.Fields(name) {
		i := slices.IndexFunc(table, func(c Command[E]) bool { return c.Name == part })
		if i < 0 {
			return nil
		}
		found = &table[i]
		table = found.Sub
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

// all is the command table flattened: every runnable command with its full
// path as Name.
func (a *App[E]) all() []Command[E] {
	var out []Command[E]
	var walk func(prefix string, table []Command[E])
	walk = func(prefix string, table []Command[E]) {
		for _, c := range table {
			c.Name = strings.TrimSpace(prefix + " " + c.Name)
			if len(c.Sub) > 0 {
				walk(c.Name, c.Sub)
				continue
			}
			out = append(out, c)
		}
	}
	walk("", a.Commands)
	return out
}

// describe returns the flags c registers, by running it with -h in an
// environment that discards its output; nil for a group.
func (a *App[E]) describe(c Command[E]) *flag.FlagSet {
	if c.Run == nil {
		return nil
	}
	var got *flag.FlagSet
	c.Run(context.Background(), a.Quiet(func(fs *flag.FlagSet) { got = fs }), []string{"-h"})
	return got
}
