// Package completion writes shell completion scripts for patwatch: bash,
// zsh and fish scripts that complete its commands, their flags and the
// flags' values, from a Model of the command line.
package completion

import (
	"fmt"
	"io"
	"strings"
)

// Shells are the shells Write writes a script for.
var Shells = []string{"bash", "zsh", "fish"}

// Model is what a completion script knows of the command line.
type Model struct {
	Top      []Entry   // the top-level commands, in the order offered
	Commands []Command // every runnable command, subcommands included
	Groups   []Group   // the commands with subcommands
}

// Entry is a top-level command.
type Entry struct{ Name, Summary string }

// Command is a runnable command.
type Command struct {
	Path    []string // ["state", "push"]
	Summary string
	Flags   []Flag
	Words   []string // the choices of its positional argument, if it has fixed ones
}

func (c Command) name() string { return strings.Join(c.Path, " ") }

// Group is a command with subcommands ("state").
type Group struct {
	Name, Summary string
	Subs          []Command
}

// Flag is a flag of a command.
type Flag struct {
	Name, Usage string
	Value       Value
	Choices     []string // the words of a Choice value
}

// Value is what a flag takes.
type Value int

// Values a flag takes.
const (
	None   Value = iota // a boolean flag takes no value
	Any                 // a value with nothing to offer for it
	Choice              // one of Flag.Choices
	File                // a file
	Dir                 // a directory
)

// Write writes the completion script of m for shell, one of Shells.
func Write(w io.Writer, shell string, m Model) error {
	switch shell {
	case "bash":
		writeBash(w, m)
	case "zsh":
		writeZsh(w, m)
	case "fish":
		writeFish(w, m)
	default:
		return fmt.Errorf("no completion for shell %q", shell)
	}
	return nil
}

func topNames(m Model) string {
	var names []string
	for _, t := range m.Top {
		names = append(names, t.Name)
	}
	return strings.Join(names, " ")
}

// subNames lists g's subcommands, space-separated.
func subNames(g Group) string {
	var names []string
	for _, s := range g.Subs {
		names = append(names, s.Path[1])
	}
	return strings.Join(names, " ")
}

// dashed is how the scripts write a flag: -f, --state.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func writeBash(w io.Writer, m Model) {
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
	for _, g := range m.Groups {
		fmt.Fprintf(w, "            %s) _patwatch_reply -W %s -- \"$cur\" ;;\n", g.Name, shQuote(subNames(g)))
	}
	fmt.Fprint(w, "            esac\n        fi\n        return ;;\n")
	for _, g := range m.Groups {
		fmt.Fprintf(w, "    %s)\n        if [[ $COMP_CWORD -eq 2 ]]; then\n            _patwatch_reply -W %s -- \"$cur\"\n            return\n        fi\n        cmd=\"$cmd ${COMP_WORDS[2]}\" ;;\n",
			g.Name, shQuote(subNames(g)))
	}
	fmt.Fprint(w, "    esac\n")
	// A flag's value: its choices, a file or directory, or nothing to offer.
	fmt.Fprint(w, "    case \"$cmd:$prev\" in\n")
	for _, c := range m.Commands {
		for _, f := range c.Flags {
			if f.Value == None {
				continue
			}
			pat := fmt.Sprintf("%q|%q", c.name()+":-"+f.Name, c.name()+":--"+f.Name)
			switch f.Value {
			case Choice:
				fmt.Fprintf(w, "    %s)\n        _patwatch_reply -W %s -- \"$cur\"\n        return ;;\n", pat, shQuote(strings.Join(f.Choices, " ")))
			case Dir:
				fmt.Fprintf(w, "    %s)\n        compopt -o filenames 2>/dev/null\n        _patwatch_reply -d -- \"$cur\"\n        return ;;\n", pat)
			case File:
				fmt.Fprintf(w, "    %s)\n        compopt -o filenames 2>/dev/null\n        _patwatch_reply -f -- \"$cur\"\n        return ;;\n", pat)
			default:
				fmt.Fprintf(w, "    %s)\n        return ;;\n", pat)
			}
		}
	}
	fmt.Fprint(w, "    esac\n")
	fmt.Fprint(w, "    case \"$cmd\" in\n")
	for _, c := range m.Commands {
		var flags []string
		for _, f := range c.Flags {
			flags = append(flags, dashed(f.Name))
		}
		fmt.Fprintf(w, "    %q)\n", c.name())
		if len(c.Words) > 0 {
			fmt.Fprintf(w, "        if [[ $cur != -* ]]; then\n            _patwatch_reply -W %s -- \"$cur\"\n            return\n        fi\n", shQuote(strings.Join(c.Words, " ")))
		}
		fmt.Fprintf(w, "        _patwatch_reply -W %s -- \"$cur\" ;;\n", shQuote(strings.Join(flags, " ")))
	}
	fmt.Fprint(w, "    esac\n}\ncomplete -F _patwatch patwatch\n")
}

func writeZsh(w io.Writer, m Model) {
	fmt.Fprint(w, `#compdef patwatch
# zsh completion for patwatch, written by 'patwatch completion zsh'.
# Save it as _patwatch in a directory of $fpath, or load it now with:
#   source <(patwatch completion zsh)
_patwatch() {
    local -a cmds
    cmds=(
`)
	for _, t := range m.Top {
		fmt.Fprintf(w, "        %s\n", shQuote(t.Name+":"+t.Summary))
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
	for _, g := range m.Groups {
		fmt.Fprintf(w, "    %s)\n        if (( CURRENT == 3 )); then\n            local -a subs\n            subs=(\n", g.Name)
		for _, s := range g.Subs {
			fmt.Fprintf(w, "                %s\n", shQuote(s.Path[1]+":"+s.Summary))
		}
		fmt.Fprintf(w, "            )\n            _describe -t commands %s subs\n            return\n        fi\n", shQuote(g.Name+" command"))
		fmt.Fprint(w, "        cmd=\"$cmd ${words[3]}\"\n        words=(\"${(@)words[3,-1]}\")\n        (( CURRENT -= 2 )) ;;\n")
	}
	fmt.Fprint(w, "    *)\n        words=(\"${(@)words[2,-1]}\")\n        (( CURRENT -= 1 )) ;;\n    esac\n    case $cmd in\n")
	for _, c := range m.Commands {
		fmt.Fprintf(w, "    %q)\n        _arguments -s", c.name())
		for _, f := range c.Flags {
			desc := zshDesc(f.Usage)
			spec := dashed(f.Name) + "[" + desc + "]"
			if f.Value != None {
				action := " "
				switch f.Value {
				case Choice:
					action = "(" + strings.Join(f.Choices, " ") + ")"
				case Dir:
					action = "_files -/"
				case File:
					action = "_files"
				}
				spec += ":" + strings.ToLower(placeholderOf(f)) + ":" + action
			}
			fmt.Fprintf(w, " \\\n            %s", shQuote(spec))
		}
		if len(c.Words) > 0 {
			fmt.Fprintf(w, " \\\n            %s", shQuote("1:"+c.Path[len(c.Path)-1]+":("+strings.Join(c.Words, " ")+")"))
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

func placeholderOf(f Flag) string {
	switch f.Value {
	case Dir:
		return "dir"
	case File:
		return "file"
	}
	return "value"
}

// zshDesc makes a flag's usage fit inside _arguments' [...]: no brackets,
// no colons that would end the field.
func zshDesc(s string) string {
	return strings.NewReplacer("[", "(", "]", ")", ":", " -", "\\", "").Replace(s)
}

func writeFish(w io.Writer, m Model) {
	fmt.Fprint(w, `# fish completion for patwatch, written by 'patwatch completion fish'.
# Save it as ~/.config/fish/completions/patwatch.fish
complete -c patwatch -f
`)
	for _, t := range m.Top {
		fmt.Fprintf(w, "complete -c patwatch -n __fish_use_subcommand -a %s -d %s\n", t.Name, fishQuote(t.Summary))
	}
	fmt.Fprintf(w, "complete -c patwatch -n '__fish_seen_subcommand_from help' -a %s\n", fishQuote(topNames(m)))
	for _, g := range m.Groups {
		subs := subNames(g)
		for _, s := range g.Subs {
			fmt.Fprintf(w, "complete -c patwatch -n %s -a %s -d %s\n",
				fishQuote("__fish_seen_subcommand_from "+g.Name+"; and not __fish_seen_subcommand_from "+subs),
				s.Path[1], fishQuote(s.Summary))
		}
	}
	for _, c := range m.Commands {
		cond := "__fish_seen_subcommand_from " + c.Path[0]
		if len(c.Path) > 1 {
			cond += "; and __fish_seen_subcommand_from " + c.Path[1]
		}
		for _, f := range c.Flags {
			opt := "-l " + f.Name
			if len(f.Name) == 1 {
				opt = "-s " + f.Name
			}
			switch f.Value {
			case Choice:
				opt += " -x -a " + fishQuote(strings.Join(f.Choices, " "))
			case Dir:
				opt += " -x -a '(__fish_complete_directories)'"
			case File:
				opt += " -r -F"
			case Any:
				opt += " -x"
			}
			fmt.Fprintf(w, "complete -c patwatch -n %s %s -d %s\n", fishQuote(cond), opt, fishQuote(f.Usage))
		}
		if len(c.Words) > 0 {
			fmt.Fprintf(w, "complete -c patwatch -n %s -a %s\n", fishQuote(cond), fishQuote(strings.Join(c.Words, " ")))
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
