package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// logFlags are the logging flags every command that logs accepts.
type logFlags struct {
	level  zerolog.Level
	format string
}

func addLogFlags(fs *flag.FlagSet) *logFlags {
	lf := &logFlags{level: zerolog.InfoLevel}
	fs.TextVar(&lf.level, "log-level", zerolog.InfoLevel, "log level: trace, debug, info, warn or error")
	fs.StringVar(&lf.format, "log-format", "auto", "log format: auto (console on a terminal, else JSON), console or json")
	return lf
}

// logger builds the one logger of a run. Logs go to stderr: human-readable on
// a terminal, JSON lines otherwise.
func (lf *logFlags) logger(e env) (zerolog.Logger, error) {
	if lf.level == zerolog.NoLevel {
		return zerolog.Nop(), fmt.Errorf("--log-level: want trace, debug, info, warn or error")
	}
	var w io.Writer = e.stderr
	format := lf.format
	if format == "auto" {
		format = "json"
		if isTerminal(e.stderr) {
			format = "console"
		}
	}
	switch format {
	case "console":
		w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: time.TimeOnly, NoColor: e.getenv("NO_COLOR") != ""}
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format: unknown format %q (want auto, console or json)", lf.format)
	}
	return zerolog.New(w).Level(lf.level).With().Timestamp().Logger(), nil
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
