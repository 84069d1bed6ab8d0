package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/rs/zerolog"
)

// logFlags are the logging flags every command that logs accepts.
type logFlags struct {
	level  zerolog.Level
	format string
}

func addLogFlags(fs *flag.FlagSet) *logFlags {
	lf := &logFlags{level: zerolog.InfoLevel}
	flagvalue.LevelVar(fs, &lf.level, "log-level", "log level")
	flagvalue.ChoiceVar(fs, &lf.format, "log-format", "auto", "log format", []string{"auto", "console", "json"},
		"log format: auto is console on a terminal, else JSON lines")
	return lf
}

// logger builds the one logger of a run. Logs go to stderr: human-readable on
// a terminal, JSON lines otherwise.
func (lf *logFlags) logger(e env) (zerolog.Logger, error) {
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
		// Colour only on a terminal: escape codes in a log file or a
		// journal are noise.
		w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: time.TimeOnly, NoColor: !isTerminal(e.stderr) || e.getenv("NO_COLOR") != ""}
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format: unknown log format %q", lf.format)
	}
	return zerolog.New(w).Level(lf.level).With().Timestamp().Logger(), nil
}

// isTerminal reports whether w is a character device, such as a terminal.
// terminal is w when it is a terminal, else nil.
func terminal(w io.Writer) io.Writer {
	if isTerminal(w) {
		return w
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
