package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
)

// shells are the shells 'patwatch completion' writes a script for.
var shells = []string{"bash", "zsh", "fish"}

// runCompletion implements 'patwatch completion SHELL': a completion script
// generated from the command table and the flags each command registers.
func runCompletion(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "completion")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return hint.Wrap(fmt.Errorf("completion takes one shell: %s", orList(shells)), "for example: source <(patwatch completion bash)")
	}
	model := completionModel()
	switch pos[0] {
	case "bash":
		writeBash(e.stdout, model)
	case "zsh":
		writeZsh(e.stdout, model)
	case "fish":
		writeFish(e.stdout, model)
	default:
		advice := "use " + orList(shells)
		if pos[0] == "sh" || pos[0] == "ksh" {
			advice = "bash's script may work in ksh93; otherwise use " + orList(shells)
		}
		return hint.Wrap(fmt.Errorf("no completion for shell %q", pos[0]), advice)
	}
	return nil
}

// compCommand is what a completion script knows of a command.
type compCommand struct {
	path    []string // ["state", "push"]
	summary string
	flags   []compFlag
	words   []string // the choices of its positional argument, if it has fixed ones
}

type compFlag struct {
	name, usage string
	takesValue  bool
	values      []string // fixed choices
	file, dir   bool     // the value is a file or a directory
}

// compGroup is a command with subcommands ("state").
type compGroup struct {
	name, summary string
	subs          []compCommand
}

type compModel struct {
	top    []compEntry // in table order
	cmds   []compCommand
	groups []compGroup
}

type compEntry struct{ name, summary string }

// completionModel reads the command table and each command's flags.
func completionModel() compModel {
	var m compModel
	for _, c := range commands() {
		m.top = append(m.top, compEntry{c.name, c.summary})
		if len(c.sub) == 0 {
			m.cmds = append(m.cmds, compCommandOf([]string{c.name}, c))
			continue
		}
		g := compGroup{name: c.name, summary: c.summary}
		for _, s := range c.sub {
			cc := compCommandOf([]string{c.name, s.name}, s)
			g.subs = append(g.subs, cc)
			m.cmds = append(m.cmds, cc)
		}
		m.groups = append(m.groups, g)
	}
	m.top = append(m.top, compEntry{"help", "show the help of a command"})
	return m
}

func compCommandOf(path []string, c command) compCommand {
	c.name = strings.Join(path, " ")
	cc := compCommand{path: path, summary: c.summary}
	if strings.Contains(c.args, "|") && !strings.ContainsAny(c.args, "[]. ") {
		cc.words = strings.Split(c.args, "|")
	}
	fs := describe(c)
	if fs == nil {
		return cc
	}
	for _, f := range orderedFlags(fs) {
		cf := compFlag{name: f.Name, usage: strings.ReplaceAll(f.Usage, "`", ""), takesValue: !isBool(f)}
		if v, ok := f.Value.(interface{ values() []string }); ok {
			cf.values = v.values()
		}
		switch placeholder(f) {
		case "SPEC", "FILE":
			cf.file = true
		case "DIR":
			cf.dir = true
		}
		cc.flags = append(cc.flags, cf)
	}
	return cc
}

func (c compCommand) name() string { return strings.Join(c.path, " ") }

func topNames(m compModel) string {
	var names []string
	for _, t := range m.top {
		names = append(names, t.name)
	}
	return strings.Join(names, " ")
}

// subNames lists g's subcommands, space-separated.
func subNames(g compGroup) string {
	var names []string
	for _, s := range g.subs {
		names = append(names, s.path[1])
	}
	return strings.Join(names, " ")
}

func writeBash(w io.Writer, m compModel) {
	fmt.Fprint(w, `# bash completion for patwatch, written by 'patwatch completion bash'.
# Load it in the current shell with: source <(patwatch completion bash)
# or save it as ~/.local/share/bash-completion/completions/patwatch
# _patwatch_reply sets COMPREPLY to the lines compgen prints (bash 3.2, as
# macOS has it, has no mapfile).
_patwatch_reply() {
    IFS=$'\n' read -r -d '' -a COMPREPLY < <(compgen "$@")
    return 0
}
_patwatch() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local cmd=${COMP_WORDS[1]}
    COMPREPLY=()
    if [[ $COMP_CWORD -eq 1 ]]; then
`)
	fmt.Fprintf(w, "        _patwatch_reply -W %s -- \"$cur\"\n        return\n    fi\n", shQuote(topNames(m)))
	fmt.Fprint(w, "    case $cmd in\n")
	// help takes a command, and a group's subcommand after it.
	fmt.Fprintf(w, "    help)\n        if [[ $COMP_CWORD -eq 2 ]]; then\n            _patwatch_reply -W %s -- \"$cur\"\n", shQuote(topNames(m)))
	fmt.Fprint(w, "        elif [[ $COMP_CWORD -eq 3 ]]; then\n            case ${COMP_WORDS[2]} in\n")
	for _, g := range m.groups {
		fmt.Fprintf(w, "            %s) _patwatch_reply -W %s -- \"$cur\" ;;\n", g.name, shQuote(subNames(g)))
	}
	fmt.Fprint(w, "            esac\n        fi\n        return ;;\n")
	for _, g := range m.groups {
		fmt.Fprintf(w, "    %s)\n        if [[ $COMP_CWORD -eq 2 ]]; then\n            _patwatch_reply -W %s -- \"$cur\"\n            return\n        fi\n        cmd=\"$cmd ${COMP_WORDS[2]}\" ;;\n",
			g.name, shQuote(subNames(g)))
	}
	fmt.Fprint(w, "    esac\n")
	// A flag's value: its choices, a file or directory, or nothing to offer.
	fmt.Fprint(w, "    case \"$cmd:$prev\" in\n")
	for _, c := range m.cmds {
		for _, f := range c.flags {
			if !f.takesValue {
				continue
			}
			pat := fmt.Sprintf("%q|%q", c.name()+":-"+f.name, c.name()+":--"+f.name)
			switch {
			case len(f.values) > 0:
				fmt.Fprintf(w, "    %s)\n        _patwatch_reply -W %s -- \"$cur\"\n        return ;;\n", pat, shQuote(strings.Join(f.values, " ")))
			case f.dir:
				fmt.Fprintf(w, "    %s)\n        compopt -o filenames 2>/dev/null\n        _patwatch_reply -d -- \"$cur\"\n        return ;;\n", pat)
			case f.file:
				fmt.Fprintf(w, "    %s)\n        compopt -o filenames 2>/dev/null\n        _patwatch_reply -f -- \"$cur\"\n        return ;;\n", pat)
			default:
				fmt.Fprintf(w, "    %s)\n        return ;;\n", pat)
			}
		}
	}
	fmt.Fprint(w, "    esac\n")
	fmt.Fprint(w, "    case \"$cmd\" in\n")
	for _, c := range m.cmds {
		var flags []string
		for _, f := range c.flags {
			flags = append(flags, flagName(f.name))
		}
		fmt.Fprintf(w, "    %q)\n", c.name())
		if len(c.words) > 0 {
			fmt.Fprintf(w, "        if [[ $cur != -* ]]; then\n            _patwatch_reply -W %s -- \"$cur\"\n            return\n        fi\n", shQuote(strings.Join(c.words, " ")))
		}
		fmt.Fprintf(w, "        _patwatch_reply -W %s -- \"$cur\" ;;\n", shQuote(strings.Join(flags, " ")))
	}
	fmt.Fprint(w, "    esac\n}\ncomplete -F _patwatch patwatch\n")
}

func writeZsh(w io.Writer, m compModel) {
	fmt.Fprint(w, `#compdef patwatch
# zsh completion for patwatch, written by 'patwatch completion zsh'.
# Save it as _patwatch in a directory of $fpath, or load it now with:
#   source <(patwatch completion zsh)
_patwatch() {
    local -a cmds
    cmds=(
`)
	for _, t := range m.top {
		fmt.Fprintf(w, "        %s\n", shQuote(t.name+":"+t.summary))
	}
	fmt.Fprint(w, `    )
    if (( CURRENT == 2 )); then
        _describe -t commands 'patwatch command' cmds
        return
    fi
    local cmd=${words[2]}
    case $cmd in
    help)
        _describe -t commands 'patwatch command' cmds
        return ;;
`)
	for _, g := range m.groups {
		fmt.Fprintf(w, "    %s)\n        if (( CURRENT == 3 )); then\n            local -a subs\n            subs=(\n", g.name)
		for _, s := range g.subs {
			fmt.Fprintf(w, "                %s\n", shQuote(s.path[1]+":"+s.summary))
		}
		fmt.Fprintf(w, "            )\n            _describe -t commands %s subs\n            return\n        fi\n", shQuote(g.name+" command"))
		fmt.Fprint(w, "        cmd=\"$cmd ${words[3]}\"\n        words=(\"${(@)words[3,-1]}\")\n        (( CURRENT -= 2 )) ;;\n")
	}
	fmt.Fprint(w, "    *)\n        words=(\"${(@)words[2,-1]}\")\n        (( CURRENT -= 1 )) ;;\n    esac\n    case $cmd in\n")
	for _, c := range m.cmds {
		fmt.Fprintf(w, "    %q)\n        _arguments -s", c.name())
		for _, f := range c.flags {
			desc := zshDesc(f.usage)
			spec := flagName(f.name) + "[" + desc + "]"
			if f.takesValue {
				action := " "
				switch {
				case len(f.values) > 0:
					action = "(" + strings.Join(f.values, " ") + ")"
				case f.dir:
					action = "_files -/"
				case f.file:
					action = "_files"
				}
				spec += ":" + strings.ToLower(placeholderOf(f)) + ":" + action
			}
			fmt.Fprintf(w, " \\\n            %s", shQuote(spec))
		}
		if len(c.words) > 0 {
			fmt.Fprintf(w, " \\\n            %s", shQuote("1:"+c.path[len(c.path)-1]+":("+strings.Join(c.words, " ")+")"))
		}
		fmt.Fprint(w, " ;;\n")
	}
	fmt.Fprint(w, `    esac
}
if [[ $funcstack[1] == _patwatch ]]; then
    _patwatch "$@"
else
    compdef _patwatch patwatch
fi
`)
}

func placeholderOf(f compFlag) string {
	switch {
	case len(f.values) > 0:
		return "value"
	case f.dir:
		return "dir"
	case f.file:
		return "file"
	}
	return "value"
}

// zshDesc makes a flag's usage fit inside _arguments' [...]: no brackets,
// no colons that would end the field.
func zshDesc(s string) string {
	return strings.NewReplacer("[", "(", "]", ")", ":", " -", "\\", "").Replace(s)
}

func writeFish(w io.Writer, m compModel) {
	fmt.Fprint(w, `# fish completion for patwatch, written by 'patwatch completion fish'.
# Save it as ~/.config/fish/completions/patwatch.fish
complete -c patwatch -f
`)
	for _, t := range m.top {
		fmt.Fprintf(w, "complete -c patwatch -n __fish_use_subcommand -a %s -d %s\n", t.name, fishQuote(t.summary))
	}
	fmt.Fprintf(w, "complete -c patwatch -n '__fish_seen_subcommand_from help' -a %s\n", fishQuote(topNames(m)))
	for _, g := range m.groups {
		subs := subNames(g)
		for _, s := range g.subs {
			fmt.Fprintf(w, "complete -c patwatch -n %s -a %s -d %s\n",
				fishQuote("__fish_seen_subcommand_from "+g.name+"; and not __fish_seen_subcommand_from "+subs),
				s.path[1], fishQuote(s.summary))
		}
	}
	for _, c := range m.cmds {
		cond := "__fish_seen_subcommand_from " + c.path[0]
		if len(c.path) > 1 {
			cond += "; and __fish_seen_subcommand_from " + c.path[1]
		}
		for _, f := range c.flags {
			opt := "-l " + f.name
			if len(f.name) == 1 {
				opt = "-s " + f.name
			}
			switch {
			case len(f.values) > 0:
				opt += " -x -a " + fishQuote(strings.Join(f.values, " "))
			case f.dir:
				opt += " -x -a '(__fish_complete_directories)'"
			case f.file:
				opt += " -r -F"
			case f.takesValue:
				opt += " -x"
			}
			fmt.Fprintf(w, "complete -c patwatch -n %s %s -d %s\n", fishQuote(cond), opt, fishQuote(f.usage))
		}
		if len(c.words) > 0 {
			fmt.Fprintf(w, "complete -c patwatch -n %s -a %s\n", fishQuote(cond), fishQuote(strings.Join(c.words, " ")))
		}
	}
}

// shQuote quotes s for sh, bash and zsh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes s for fish, where \' and \\ are the escapes inside
// single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
