package cli

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/suggest"
)

// FlagSet returns the FlagSet of the command named name (its full path,
// such as "apply" or "state push"), handed to e's FlagSink. Its -h prints
// the command's help on e's standard output; ParseFlags and ParseArgs
// return parse errors in the framework's own form.
func (a *App[E]) FlagSet(e E, name string) *flag.FlagSet {
	stdout, stderr := a.Output(e)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { a.writeHelp(stdout, fs) }
	if sink := a.FlagSink(e); sink != nil {
		sink(fs)
	}
	return fs
}

// ParseFlags parses args, which must hold flags only. An error ends the
// command: flag.ErrHelp once -h has printed its help (exit 0), or a wrong
// flag or argument, explained (exit 1).
func (a *App[E]) ParseFlags(fs *flag.FlagSet, args []string) error {
	pos, err := a.ParseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return a.UnexpectedArgument(fs, pos[0])
	}
	return nil
}

// ParseArgs parses args, flags and positional arguments in any order (a
// "--" ends the flags), and returns the positional ones; fs.Args holds them
// too. An error ends the command, as with ParseFlags.
func (a *App[E]) ParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := flagvalue.Parse(fs, args, func(name string) error { return a.unknownFlag(fs, name) })
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
	}
	return pos, err
}

// UnexpectedArgument is the error of the positional argument arg, which
// the command of fs does not take.
func (a *App[E]) UnexpectedArgument(fs *flag.FlagSet, arg string) error {
	h := fmt.Sprintf("run '%s %s -h' for its flags", a.Name, fs.Name())
	if a.ArgumentHint != nil {
		if ah := a.ArgumentHint(arg); ah != "" {
			h = ah
		}
	}
	return hint.Wrap(fmt.Errorf("unexpected argument %q", arg), h)
}

// unknownCommand is the error of name, which is no command of table (the
// subcommands of the group at path, or the top level).
func (a *App[E]) unknownCommand(path []string, name string, table []Command[E]) error {
	var names []string
	for _, c := range table {
		names = append(names, c.Name)
	}
	where := strings.Join(append([]string{a.Name}, path...), " ")
	var hints []string
	if best := suggest.Closest(name, names); best != "" {
		hints = append(hints, fmt.Sprintf("did you mean %s %s?", where, best))
	}
	if a.CommandHint != nil {
		hints = append(hints, a.CommandHint(name))
	}
	if len(path) > 0 {
		hints = append(hints, fmt.Sprintf("run '%s help %s' for its subcommands", a.Name, strings.Join(path, " ")))
	} else {
		hints = append(hints, fmt.Sprintf("run '%s help' for the list of commands", a.Name))
	}
	return hint.Wrap(fmt.Errorf("unknown command %q", strings.Join(append(slices.Clone(path), name), " ")), hints...)
}

// unknownFlag explains a flag fs does not take: the one probably meant,
// the program's own hint, or the commands that do take it.
func (a *App[E]) unknownFlag(fs *flag.FlagSet, name string) error {
	return hint.Wrap(fmt.Errorf("%s has no flag %s", fs.Name(), flagvalue.Name(name)), a.flagHints(fs, name)...)
}

// flagHints are the hints of unknownFlag.
func (a *App[E]) flagHints(fs *flag.FlagSet, name string) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	var hints []string
	own := ""
	if a.FlagHint != nil {
		own = a.FlagHint(fs, name)
	}
	if own != "" {
		hints = append(hints, own)
	} else if best := suggest.Closest(name, names); best != "" {
		hints = append(hints, fmt.Sprintf("did you mean %s?", flagvalue.Name(best)))
	} else if others := a.commandsWithFlag(name); len(others) > 0 {
		hints = append(hints, fmt.Sprintf("%s is a flag of %s", flagvalue.Name(name), strings.Join(others, ", ")))
	}
	return append(hints, fmt.Sprintf("run '%s %s -h' for its flags", a.Name, fs.Name()))
}

// commandsWithFlag lists the commands that take the flag name.
func (a *App[E]) commandsWithFlag(name string) []string {
	var out []string
	for _, c := range a.all() {
		if fs := a.describe(c); fs != nil && fs.Lookup(name) != nil {
			out = append(out, c.Name)
		}
	}
	return out
}

// flagBeforeCommand explains a command line that starts with a flag: the
// flags (but Global's) belong to the commands. It suggests the flags moved
// after the command when the command takes them all, and says whose a flag
// is otherwise.
func (a *App[E]) flagBeforeCommand(args []string) error {
	for i, arg := range args {
		c := a.lookup(arg)
		if c == nil || strings.HasPrefix(arg, "-") {
			continue
		}
		err := fmt.Errorf("%s comes before the command", strings.Join(args[:i], " "))
		fs := a.describe(*c)
		if fs == nil {
			return hint.Wrap(err, fmt.Sprintf("run '%s help %s' for its subcommands and their flags", a.Name, arg))
		}
		for _, f := range args[:i] {
			name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
			if strings.HasPrefix(f, "-") && fs.Lookup(name) == nil {
				return hint.Wrap(err, append([]string{fmt.Sprintf("%s has no flag %s", fs.Name(), flagvalue.Name(name))}, a.flagHints(fs, name)...)...)
			}
		}
		fixed := append(append([]string{arg}, args[:i]...), args[i+1:]...)
		return hint.Wrap(err, fmt.Sprintf("flags go after the command they belong to: %s %s", a.Name, strings.Join(fixed, " ")))
	}
	return hint.Wrap(fmt.Errorf("unknown flag %s: a command comes first", args[0]),
		fmt.Sprintf("run '%s help' for the list of commands", a.Name))
}
