package main

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

// runHelp is 'patwatch help [COMMAND...]': the overview, or one command's
// help, which is what 'patwatch COMMAND -h' prints.
func runHelp(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] == "help" {
		overview(e.stdout)
		return nil
	}
	c, _, err := findCommand(commands(), args)
	if err != nil {
		return err
	}
	if c.run == nil {
		groupHelp(e.stdout, c)
		return nil
	}
	return c.run(ctx, e, []string{"-h"})
}

// overview is patwatch's help: what it is and the command list.
func overview(w io.Writer) {
	fmt.Fprintln(w, "patwatch: reconcile a watch list of PatSnap image searches and patent value reports")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: patwatch COMMAND [flags]")
	fmt.Fprintln(w, "       patwatch -chdir=DIR COMMAND [flags]   # as if started in DIR")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	cs := allCommands()
	width := 0
	for _, c := range cs {
		width = max(width, len(c.name))
	}
	for _, c := range cs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'patwatch help COMMAND' (or 'patwatch COMMAND -h') for a command's flags, examples and exit codes.")
	fmt.Fprintln(w, "New here? 'patwatch init' writes a starter spec; 'patwatch apply --sandbox' runs one without credentials.")
}

// groupHelp is the help of a command that only holds subcommands.
func groupHelp(w io.Writer, c command) {
	fmt.Fprintf(w, "patwatch %s: %s\n", c.name, c.summary)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(c.about, helpWidth, ""))
	}
	fmt.Fprintf(w, "\nusage: patwatch %s COMMAND [flags]\n\ncommands:\n", c.name)
	width := 0
	for _, s := range c.sub {
		width = max(width, len(s.name))
	}
	for _, s := range c.sub {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
	}
	fmt.Fprintf(w, "\nRun 'patwatch help %s COMMAND' for a command's flags.\n", c.name)
}

// writeHelp prints the help of the command fs belongs to: its description,
// a synopsis and a list of every flag it registered, its examples and exit
// codes.
func writeHelp(w io.Writer, fs *flag.FlagSet) {
	c := lookupCommand(fs.Name())
	if c == nil {
		c = &command{name: fs.Name()}
	}
	if c.summary != "" {
		fmt.Fprintf(w, "patwatch %s: %s\n\n", fs.Name(), c.summary)
	}
	if c.about != "" {
		fmt.Fprintf(w, "%s\n\n", wrap(c.about, helpWidth, ""))
	}
	fmt.Fprintf(w, "usage:\n%s\n", synopsis(fs, c.args))

	flags := flagvalue.Ordered(fs)
	if len(flags) > 0 {
		fmt.Fprintln(w, "\nflags:")
		rows := make([][2]string, len(flags))
		width := 0
		for i, f := range flags {
			left := flagName(f.Name)
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
	if len(c.examples) > 0 {
		fmt.Fprintln(w, "\nexamples:")
		for _, ex := range c.examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
	fmt.Fprintln(w, "\nexit codes:")
	for _, x := range exitCodes(c, fs) {
		fmt.Fprintf(w, "  %d  %s\n", x.code, wrap(x.meaning, helpWidth, "     "))
	}
}

func exitCodes(c *command, fs *flag.FlagSet) []exitMeaning {
	if c.exits != nil {
		return c.exits
	}
	if fs.Lookup("detailed-exitcode") != nil {
		// plan takes no lock, saves nothing and sends nothing.
		failed := "error: invalid spec or flags, state unreadable, or a search or report that failed (plan changes nothing either way)"
		if c.name != "plan" {
			failed = "error: invalid spec or flags, state unreadable or locked, or a search or report that failed, " +
				"or a notification not delivered (what succeeded is still saved)"
		}
		return []exitMeaning{
			{exitOK, "success; with --detailed-exitcode: success and nothing changed"},
			{exitError, failed},
			{exitChanged, "only with --detailed-exitcode: success, and the change report is not empty"},
		}
	}
	return []exitMeaning{{exitOK, "success"}, {exitError, "error: invalid spec, flags or arguments, or the command failed"}}
}

// synopsis is the usage line of a command, generated from the flags it
// registered, wrapped under the command's name.
func synopsis(fs *flag.FlagSet, args string) string {
	head := "  patwatch " + fs.Name()
	var parts []string
	for _, f := range flagvalue.Ordered(fs) {
		p := flagName(f.Name)
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
