package flagvalue

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Name is how help and messages write the flag name: -f, --state.
func Name(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// IsBool reports whether f is a switch, which takes no value.
func IsBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Placeholder is what f's value is called in a synopsis: its choices
// (text|json), DURATION, or the word its usage marks with back quotes, in
// capitals; "" for a switch.
func Placeholder(f *flag.Flag) string {
	if IsBool(f) {
		return ""
	}
	if v, ok := f.Value.(interface{ Values() []string }); ok {
		return strings.Join(v.Values(), "|")
	}
	if _, ok := f.Value.(*Duration); ok {
		return "DURATION"
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, isDuration := g.Get().(time.Duration); isDuration {
			return "DURATION" // a flag registered with fs.DurationVar
		}
	}
	if _, rest, ok := strings.Cut(f.Usage, "`"); ok {
		if name, _, ok := strings.Cut(rest, "`"); ok {
			return strings.ToUpper(name)
		}
	}
	return "VALUE"
}

// ExampleUse is f with a valid value, for hints: "--format text".
func ExampleUse(f *flag.Flag) string {
	if ex, ok := f.Value.(interface{ Example() string }); ok {
		return Name(f.Name) + " " + ex.Example()
	}
	return Name(f.Name) + " " + Placeholder(f)
}

// Usage is f's description for help, with its default.
func Usage(f *flag.Flag) string {
	u := strings.ReplaceAll(f.Usage, "`", "")
	switch f.DefValue {
	case "", "false", "0", "0s":
		return u
	}
	if strings.Contains(u, "(default") {
		return u
	}
	return fmt.Sprintf("%s (default %s)", u, f.DefValue)
}

// Ordered is fs's flags in the order help lists them: -f first, the
// logging flags (log-…) last, the rest by name.
func Ordered(fs *flag.FlagSet) []*flag.Flag {
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	rank := func(f *flag.Flag) int {
		switch {
		case f.Name == "f":
			return 0
		case strings.HasPrefix(f.Name, "log-"):
			return 2
		}
		return 1
	}
	slices.SortStableFunc(out, func(a, b *flag.Flag) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}
