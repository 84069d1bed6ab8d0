package main

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

// choiceValue is a string flag that takes one of a fixed set of words. Help
// shows them as a|b|c, completion offers them, and a wrong one is refused
// while parsing with the list of right ones.
type choiceValue struct {
	p       *string
	noun    string // what a value is, for messages: "format"
	choices []string
}

// choiceVar registers a choice flag with default def.
func choiceVar(fs *flag.FlagSet, p *string, name, def, noun string, choices []string, usage string) {
	*p = def
	fs.Var(&choiceValue{p: p, noun: noun, choices: choices}, name, usage)
}

func (c *choiceValue) String() string {
	if c == nil || c.p == nil {
		return ""
	}
	return *c.p
}

func (c *choiceValue) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		advice := "use " + orList(c.choices)
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

func (c *choiceValue) values() []string { return c.choices }
func (c *choiceValue) example() string  { return c.choices[0] }

// durationValue is a duration flag in the contract's syntax (30m, 6h,
// 1h30m, 7d), as spec.ParseDuration reads it; Go's syntax (500ms, 1.5h) is
// accepted too, as it was before the contract's took over. A floor, when
// set, refuses shorter ones, and zero is refused unless allowed.
type durationValue struct {
	p         *time.Duration
	min       time.Duration
	allowZero bool
	sample    string // a valid value, for messages
}

// durationVar registers a duration flag with default def.
func durationVar(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, d durationValue, usage string) {
	*p = def
	d.p = p
	if d.sample == "" {
		d.sample = "30m"
	}
	fs.Var(&d, name, usage)
}

func (d *durationValue) String() string {
	if d == nil || d.p == nil || *d.p == 0 {
		return "0s"
	}
	if *d.p%time.Second != 0 {
		return d.p.String()
	}
	return spec.FormatDuration(*d.p)
}

func (d *durationValue) Set(s string) error {
	v, err := spec.ParseDuration(s)
	if err != nil {
		if gv, gerr := time.ParseDuration(s); gerr == nil && gv >= 0 {
			v, err = gv, nil
		}
	}
	switch {
	case err != nil && strings.HasPrefix(s, "-"):
		return hint.Wrap(fmt.Errorf("must not be negative, not %s", s), "for example "+d.sample)
	case err != nil && isDigits(s):
		return hint.Wrap(fmt.Errorf("%q has no unit", s), fmt.Sprintf("durations are whole numbers with a unit d, h, m or s: %ss, %sm or %sh", s, s, s))
	case err != nil:
		return hint.Wrap(fmt.Errorf("%q is not a duration", s), "durations are whole numbers with units d, h, m and s: for example "+d.sample)
	case v == 0 && !d.allowZero:
		return hint.Wrap(fmt.Errorf("must be longer than 0"), "for example "+d.sample)
	case v != 0 && v < d.min:
		return hint.Wrap(fmt.Errorf("must be at least %s, not %s", spec.FormatDuration(d.min), s), "calling the API more often only spends quota; for example "+d.sample)
	}
	*d.p = v
	return nil
}

func (d *durationValue) example() string { return d.sample }

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// namesValue is a repeatable flag of entry names (--target, --exclude,
// --resubmit): each use adds one. sample is the name its help and
// completion examples show.
type namesValue struct {
	names  *[]string
	sample string
}

// namesVar defines the repeatable flag name, adding each use to *p.
func namesVar(fs *flag.FlagSet, p *[]string, name, sample, usage string) {
	fs.Var(&namesValue{names: p, sample: sample}, name, usage)
}

func (n *namesValue) String() string {
	if n == nil || n.names == nil {
		return ""
	}
	return strings.Join(*n.names, ",")
}

func (n *namesValue) Set(s string) error {
	if s == "" {
		return hint.Wrap(errors.New("empty name"), "name a search or report of the spec, for example "+n.sample)
	}
	*n.names = append(*n.names, s)
	return nil
}

func (n *namesValue) example() string { return n.sample }

// orList writes words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
