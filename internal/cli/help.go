package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/patwatch/patwatch/internal/flagvalue"
)

// helpWidth is the width help text is wrapped to.
const helpWidth = 100

// help is 'PROGRAM help [COMMAND...]': the overview, or one command's help,
// which is what 'PROGRAM COMMAND -h' prints.
func (a *App[E]) help(ctx context.Context, e E, args []string) error {
	stdout, _ := a.Output(e)
	if len(args) == 0 || args[0] == "help" {
		a.overview(stdout)
		return nil
	}
	c, _, err := a.find(a.Commands, args)
	if err != nil {
		return err
	}
	if c.Run == nil {
		a.groupHelp(stdout, c)
		return nil
	}
	return c.Run(ctx, e, []string{"-h"})
}

// overview is the program's help: its Intro, the command list, its Outro.
func (a *App[E]) overview(w io.Writer) {
	fmt.Fprintln(w, a.Intro)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	writeList(w, a.all())
	fmt.Fprintln(w)
	fmt.Fprintln(w, a.Outro)
}

// writeList writes one line per command: its name and summary, aligned.
func writeList[E any](w io.Writer, cs []Command[E]) {
	width := 0
	for _, c := range cs {
		width = max(width, len(c.Name))
	}
	for _, c := range cs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
}

// groupHelp is the help of a command that only holds subcommands.
func (a *App[E]) groupHelp(w io.Writer, c Command[E]) {
	fmt.Fprintf(w, "%s %s: %s\n", a.Name, c.Name, c.Summary)
	if c.About != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(c.About, helpWidth, ""))
	}
	fmt.Fprintf(w, "\nusage: %s %s COMMAND [flags]\n\ncommands:\n", a.Name, c.Name)
	writeList(w, c.Sub)
	fmt.Fprintf(w, "\nRun '%s help %s COMMAND' for a command's flags.\n", a.Name, c.Name)
}

// writeHelp prints the help of the command fs belongs to: its description,
// a synopsis and a list of every flag it registered, its examples and exit
// codes.
func (a *App[E]) writeHelp(w io.Writer, fs *flag.FlagSet) {
	c := a.lookup(fs.Name())
	if c == nil {
		c = &Command[E]{Name: fs.Name()}
	}
	if c.Summary != "" {
		fmt.Fprintf(w, "%s %s: %s\n\n", a.Name, fs.Name(), c.Summary)
	}
	if c.About != "" {
		fmt.Fprintf(w, "%s\n\n", wrap(c.About, helpWidth, ""))
	}
	fmt.Fprintf(w, "usage:\n%s\n", synopsis(a.Name+" "+fs.Name(), fs, c.Args))
	writeFlags(w, fs)
	if len(c.Examples) > 0 {
		fmt.Fprintln(w, "\nexamples:")
		for _, ex := range c.Examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
	exits := c.Exits
	if exits == nil {
		exits = a.Exits(fs.Name(), fs)
	}
	fmt.Fprintln(w, "\nexit codes:")
	for _, x := range exits {
		fmt.Fprintf(w, "  %d  %s\n", x.Code, wrap(x.Meaning, helpWidth, "     "))
	}
}

// writeFlags writes the flags section of a command's help: one entry per
// flag of fs, its name and placeholder, then its usage; nothing when fs has
// no flags.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	flags := flagvalue.Ordered(fs)
	if len(flags) == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	rows := make([][2]string, len(flags))
	width := 0
	for i, f := range flags {
		left := flagvalue.Name(f.Name)
		if p := flagvalue.Placeholder(f); p != "" {
			left += " " + p
		}
		rows[i] = [2]string{left, flagvalue.Usage(f)}
		if len(left) <= 28 {
			width = max(width, len(left))
		}
	}
	indent := strings.Repeat(" ", 2+width+2)
	for _, r := range rows {
		if len(r[0]) > width {
			fmt.Fprintf(w, "  %s\n%s%s\n", r[0], indent, wrap(r[1], helpWidth, indent))
			continue
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], wrap(r[1], helpWidth, indent))
	}
}

// synopsis is the usage line of the command called as name, generated from
// the flags fs it registered and the synopsis of its positional arguments
// args, wrapped under the command's name.
func synopsis(name string, fs *flag.FlagSet, args string) string {
	head := "  " + name
	var parts []string
	for _, f := range flagvalue.Ordered(fs) {
		p := flagvalue.Name(f.Name)
		if ph := flagvalue.Placeholder(f); ph != "" {
			p += " " + ph
		}
		parts = append(parts, "["+p+"]")
	}
	if args != "" {
		parts = append(parts, args)
	}
	indent := strings.Repeat(" ", len(head)+1)
	var b strings.Builder
	line := head
	for _, p := range parts {
		if len(line)+1+len(p) > helpWidth && line != head && line != indent {
			b.WriteString(line + "\n")
			line = indent + p
			continue
		}
		if line == indent {
			line += p
		} else {
			line += " " + p
		}
	}
	b.WriteString(line)
	return b.String()
}

// wrap breaks text into lines of at most width columns; lines after the
// first start with indent. Paragraphs (blank lines) are kept.
func wrap(text string, width int, indent string) string {
	var paras []string
	for _, para := range strings.Split(text, "\n\n") {
		var lines []string
		line := ""
		for _, word := range strings.Fields(para) {
			if line != "" && len(indent)+len(line)+1+len(word) > width {
				lines = append(lines, line)
				line = word
				continue
			}
			if line == "" {
				line = word
			} else {
				line += " " + word
			}
		}
		lines = append(lines, line)
		paras = append(paras, strings.Join(lines, "\n"+indent))
	}
	return strings.Join(paras, "\n\n"+indent)
}
