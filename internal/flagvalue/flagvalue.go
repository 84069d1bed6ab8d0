// Package flagvalue holds the flag.Value types of patwatch's commands: one
// word of a fixed set, a duration in the spec's syntax, a repeatable entry
// name, a log level. Each refuses a wrong value while parsing with what
// would be right (a hint), and says what help, completion and error hints
// show of it: Values, the words it takes, and Example, a valid value.
package flagvalue

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/spec"
)

// Choice is a string flag that takes one of a fixed set of words. Help
// shows them as a|b|c, completion offers them, and a wrong one is refused
// while parsing with the list of right ones.
type Choice struct {
	p       *string
	noun    string // what a value is, for messages: "format"
	choices []string
}

// ChoiceVar registers a choice flag with default def.
func ChoiceVar(fs *flag.FlagSet, p *string, name, def, noun string, choices []string, usage string) {
	*p = def
	fs.Var(&Choice{p: p, noun: noun, choices: choices}, name, usage)
}

func (c *Choice) String() string {
	if c == nil || c.p == nil {
		return ""
	}
	return *c.p
}

func (c *Choice) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		advice := "use " + OrList(c.choices)
		for _, ch := range c.choices {
			if strings.EqualFold(s, ch) {
				advice = "values are case-sensitive: write " + ch
			}
		}
		return hint.Wrap(fmt.Errorf("unknown %s %q", c.noun, s), advice)
	}
	*c.p = s
	return nil
}

func (c *Choice) Values() []string { return c.choices }
func (c *Choice) Example() string  { return c.choices[0] }

// Duration is a duration flag in the contract's syntax (30m, 6h,
// 1h30m, 7d), as spec.ParseDuration reads it; Go's syntax (500ms, 1.5h) is
// accepted too, as it was before the contract's took over. A floor, when
// set, refuses shorter ones, and zero is refused unless allowed.
type Duration struct {
	p         *time.Duration
	Min       time.Duration // the shortest accepted, but zero (see AllowZero)
	AllowZero bool
	Sample    string // a valid value, for messages; default 30m
}

// DurationVar registers a duration flag with default def.
func DurationVar(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, d Duration, usage string) {
	*p = def
	d.p = p
	if d.Sample == "" {
		d.Sample = "30m"
	}
	fs.Var(&d, name, usage)
}

func (d *Duration) String() string {
	if d == nil || d.p == nil || *d.p == 0 {
		return "0s"
	}
	if *d.p%time.Second != 0 {
		return d.p.String()
	}
	return spec.FormatDuration(*d.p)
}

func (d *Duration) Set(s string) error {
	v, err := spec.ParseDuration(s)
	if err != nil {
		if gv, gerr := time.ParseDuration(s); gerr == nil && gv >= 0 {
			v, err = gv, nil
		}
	}
	switch {
	case err != nil && strings.HasPrefix(s, "-"):
		return hint.Wrap(fmt.Errorf("must not be negative, not %s", s), "for example "+d.Sample)
	case err != nil && isDigits(s):
		return hint.Wrap(fmt.Errorf("%q has no unit", s), fmt.Sprintf("durations are whole numbers with a unit d, h, m or s: %ss, %sm or %sh", s, s, s))
	case err != nil:
		return hint.Wrap(fmt.Errorf("%q is not a duration", s), "durations are whole numbers with units d, h, m and s: for example "+d.Sample)
	case v == 0 && !d.AllowZero:
		return hint.Wrap(fmt.Errorf("must be longer than 0"), "for example "+d.Sample)
	case v != 0 && v < d.Min:
		return hint.Wrap(fmt.Errorf("must be at least %s, not %s", spec.FormatDuration(d.Min), s), "calling the API more often only spends quota; for example "+d.Sample)
	}
	*d.p = v
	return nil
}

func (d *Duration) Example() string { return d.Sample }

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// Names is a repeatable flag of entry names (--target, --exclude,
// --resubmit): each use adds one. sample is the name its help and
// completion examples show.
type Names struct {
	names  *[]string
	sample string
}

// NamesVar defines the repeatable flag name, adding each use to *p.
func NamesVar(fs *flag.FlagSet, p *[]string, name, sample, usage string) {
	fs.Var(&Names{names: p, sample: sample}, name, usage)
}

func (n *Names) String() string {
	if n == nil || n.names == nil {
		return ""
	}
	return strings.Join(*n.names, ",")
}

func (n *Names) Set(s string) error {
	if s == "" {
		return hint.Wrap(errors.New("empty name"), "name a search or report of the spec, for example "+n.sample)
	}
	*n.names = append(*n.names, s)
	return nil
}

func (n *Names) Example() string { return n.sample }

// OrList writes words as "a, b or c".
func OrList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
