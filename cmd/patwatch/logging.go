package main

import (
	"flag"
	"fmt"
	"slices"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/console"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
)

// logFlags are the logging flags every command that logs accepts, and the
// console they set up.
type logFlags struct {
	level   levelValue
	format  formatValue
	console *console.Console // set by logger
}

// addLogFlags registers --log-level, whose default is level unless
// PATWATCH_LOG says otherwise, and --log-format, text unless
// PATWATCH_LOG_FORMAT says otherwise. Commands log warnings by default,
// so that a run with nothing to warn about writes nothing to stderr; watch
// logs its runs (info).
func addLogFlags(fs *flag.FlagSet, level zerolog.Level) *logFlags {
	lf := &logFlags{level: levelValue{level: level}, format: formatValue{format: console.FormatText}}
	fs.Var(&lf.level, "log-level", "log level; $PATWATCH_LOG sets it too")
	fs.Var(&lf.format, "log-format", "log format: text (readable lines) or json (one object a line); $PATWATCH_LOG_FORMAT sets it too")
	return lf
}

// logger sets up the console of a run and returns its logger. The flags
// win over the environment.
func (lf *logFlags) logger(e env) (zerolog.Logger, error) {
	if v := e.getenv("PATWATCH_LOG"); v != "" && !lf.level.set {
		if err := lf.level.Set(v); err != nil {
			return zerolog.Nop(), fmt.Errorf("PATWATCH_LOG: %w", err)
		}
	}
	if v := e.getenv("PATWATCH_LOG_FORMAT"); v != "" && !lf.format.set {
		if err := lf.format.Set(v); err != nil {
			return zerolog.Nop(), fmt.Errorf("PATWATCH_LOG_FORMAT: %w", err)
		}
	}
	c, err := console.New(e.stderr, console.Options{Level: lf.level.level, Format: lf.format.format, NoColor: e.getenv("NO_COLOR") != ""})
	if err != nil {
		return zerolog.Nop(), err
	}
	lf.console = c
	return c.Log(), nil
}

// levelValue is --log-level: one of console.Levels, in any case (zerolog's
// parser would also take numbers, and "" as no level at all).
type levelValue struct {
	level zerolog.Level
	set   bool
}

func (l *levelValue) String() string {
	if l == nil {
		return ""
	}
	return l.level.String()
}

func (l *levelValue) Set(s string) error {
	lvl, err := console.ParseLevel(s)
	if err != nil {
		advice := "use " + flagvalue.OrList(console.Levels)
		if s == "warning" {
			advice = "write warn"
		}
		return hint.Wrap(err, advice)
	}
	l.level, l.set = lvl, true
	return nil
}

func (l *levelValue) Values() []string { return console.Levels }
func (l *levelValue) Example() string  { return "debug" }

// logFormats are the values --log-format takes.
var logFormats = []string{console.FormatText, console.FormatJSON}

// formatValue is --log-format. The values of earlier versions are
// taken as text: auto (which was JSON off a terminal) and console.
type formatValue struct {
	format string
	set    bool
}

func (f *formatValue) String() string {
	if f == nil {
		return ""
	}
	return f.format
}

func (f *formatValue) Set(s string) error {
	switch {
	case s == "auto" || s == "console":
		s = console.FormatText
	case !slices.Contains(logFormats, s):
		return hint.Wrap(fmt.Errorf("unknown log format %q", s), "use "+flagvalue.OrList(logFormats))
	}
	f.format, f.set = s, true
	return nil
}

func (f *formatValue) Values() []string { return logFormats }
func (f *formatValue) Example() string  { return console.FormatJSON }
