package cli

import (
	"slices"
	"strings"

	"github.com/patwatch/patwatch/internal/completion"
	"github.com/patwatch/patwatch/internal/flagvalue"
)

// Completion is what a completion script knows of the command line: the
// table (one level of groups), each command's flags and what their values
// are, and help.
func (a *App[E]) Completion() completion.Model {
	var m completion.Model
	for _, c := range a.Commands {
		m.Top = append(m.Top, completion.Entry{Name: c.Name, Summary: c.Summary})
		if len(c.Sub) == 0 {
			m.Commands = append(m.Commands, a.completionCommand([]string{c.Name}, c))
			continue
		}
		g := completion.Group{Name: c.Name, Summary: c.Summary}
		for _, s := range c.Sub {
			cc := a.completionCommand([]string{c.Name, s.Name}, s)
			g.Subs = append(g.Subs, cc)
			m.Commands = append(m.Commands, cc)
		}
		m.Groups = append(m.Groups, g)
	}
	m.Top = append(m.Top, completion.Entry{Name: "help", Summary: "show the help of a command"})
	return m
}

// completionCommand is what a completion script knows of c, at path: its
// flags, and the words of its positional argument when Args is a choice
// of words ("bash|zsh|fish").
func (a *App[E]) completionCommand(path []string, c Command[E]) completion.Command {
	cc := completion.Command{Path: path, Summary: c.Summary}
	if strings.Contains(c.Args, "|") && !strings.ContainsAny(c.Args, "[]. ") {
		cc.Words = strings.Split(c.Args, "|")
	}
	fs := a.describe(c)
	if fs == nil {
		return cc
	}
	for _, f := range flagvalue.Ordered(fs) {
		cf := completion.Flag{Name: f.Name, Usage: strings.ReplaceAll(f.Usage, "`", ""), Value: completion.Any}
		v, choice := f.Value.(interface{ Values() []string })
		ph := flagvalue.Placeholder(f)
		switch {
		case flagvalue.IsBool(f):
			cf.Value = completion.None
		case choice && len(v.Values()) > 0:
			cf.Value, cf.Choices = completion.Choice, v.Values()
		case ph == "FILE" || slices.Contains(a.FilePlaceholders, ph):
			cf.Value = completion.File
		case ph == "DIR":
			cf.Value = completion.Dir
		}
		cc.Flags = append(cc.Flags, cf)
	}
	return cc
}
