package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/patwatch/patwatch/internal/completion"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
)

// runCompletion implements 'patwatch completion SHELL': a completion script
// generated from the command table and the flags each command registers.
func runCompletion(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "completion")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return hint.Wrap(fmt.Errorf("completion takes one shell: %s", flagvalue.OrList(completion.Shells)), "for example: source <(patwatch completion bash)")
	}
	if err := completion.Write(e.stdout, pos[0], completionModel()); err != nil {
		advice := "use " + flagvalue.OrList(completion.Shells)
		if pos[0] == "sh" || pos[0] == "ksh" {
			advice = "bash's script may work in ksh93; otherwise use " + flagvalue.OrList(completion.Shells)
		}
		return hint.Wrap(err, advice)
	}
	return nil
}

// completionModel reads the command table and each command's flags.
func completionModel() completion.Model {
	var m completion.Model
	for _, c := range commands() {
		m.Top = append(m.Top, completion.Entry{Name: c.name, Summary: c.summary})
		if len(c.sub) == 0 {
			m.Commands = append(m.Commands, compCommandOf([]string{c.name}, c))
			continue
		}
		g := completion.Group{Name: c.name, Summary: c.summary}
		for _, s := range c.sub {
			cc := compCommandOf([]string{c.name, s.name}, s)
			g.Subs = append(g.Subs, cc)
			m.Commands = append(m.Commands, cc)
		}
		m.Groups = append(m.Groups, g)
	}
	m.Top = append(m.Top, completion.Entry{Name: "help", Summary: "show the help of a command"})
	return m
}

// compCommandOf is what a completion script knows of c, at path.
func compCommandOf(path []string, c command) completion.Command {
	c.name = strings.Join(path, " ")
	cc := completion.Command{Path: path, Summary: c.summary}
	if strings.Contains(c.args, "|") && !strings.ContainsAny(c.args, "[]. ") {
		cc.Words = strings.Split(c.args, "|")
	}
	fs := describe(c)
	if fs == nil {
		return cc
	}
	for _, f := range flagvalue.Ordered(fs) {
		cf := completion.Flag{Name: f.Name, Usage: strings.ReplaceAll(f.Usage, "`", ""), Value: completion.Any}
		v, choice := f.Value.(interface{ Values() []string })
		switch {
		case flagvalue.IsBool(f):
			cf.Value = completion.None
		case choice && len(v.Values()) > 0:
			cf.Value, cf.Choices = completion.Choice, v.Values()
		case flagvalue.Placeholder(f) == "SPEC" || flagvalue.Placeholder(f) == "FILE":
			cf.Value = completion.File
		case flagvalue.Placeholder(f) == "DIR":
			cf.Value = completion.Dir
		}
		cc.Flags = append(cc.Flags, cf)
	}
	return cc
}
