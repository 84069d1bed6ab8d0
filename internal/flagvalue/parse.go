package flagvalue

import (
	"flag"
	"fmt"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
)

// Parse sets fs's flags from args and returns the positional arguments,
// which fs.Args then holds too. Flags may come before or after them, as
// -name or --name, with their value after = or as the next argument; a
// "--" ends the flags, and "-" alone is an argument (standard input).
// Every mistake is an error that names the flag and says what would be
// right; a flag fs does not take is unknown's error, and -h or -help
// (when fs takes no such flag) is flag.ErrHelp. It parses itself rather
// than through fs.Parse, which stops at the first positional argument
// and explains nothing.
func Parse(fs *flag.FlagSet, args []string, unknown func(name string) error) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if name == "" || name[0] == '-' {
			return nil, hint.Wrap(fmt.Errorf("bad flag syntax %s", a), fmt.Sprintf("flags are written -name or --name; run 'patwatch %s -h' for its flags", fs.Name()))
		}
		f := fs.Lookup(name)
		switch {
		case f == nil && (name == "h" || name == "help"):
			return nil, flag.ErrHelp
		case f == nil:
			return nil, unknown(name)
		case IsBool(f) && !hasValue:
			value = "true"
		case !hasValue:
			if i+1 >= len(args) {
				return nil, hint.Wrap(fmt.Errorf("%s needs a value", Name(f.Name)), "give it one: "+ExampleUse(f))
			}
			i++
			value = args[i]
			if len(value) > 1 && value[0] == '-' && fs.Lookup(strings.TrimLeft(value, "-")) != nil {
				return nil, hint.Wrap(fmt.Errorf("%s needs a value before %s", Name(f.Name), value), "give it one: "+ExampleUse(f))
			}
		}
		if err := fs.Set(name, value); err != nil {
			if IsBool(f) {
				err = hint.Wrap(fmt.Errorf("%q is not true or false", value), "write "+Name(f.Name)+" alone to turn it on, or "+Name(f.Name)+"=false")
			}
			return nil, fmt.Errorf("%s: %w", Name(f.Name), err)
		}
	}
	// Mark the set parsed, with the positional arguments as its Args.
	if err := fs.Parse(append([]string{"--"}, pos...)); err != nil {
		return nil, err
	}
	return pos, nil
}
