// Package console is what a command writes to its standard error besides
// its error: log records, as readable text lines or as JSON lines, and the
// progress of a long run. On a terminal the progress is a live line, which
// a log record never shares: the record clears it, takes a line of its own,
// and the line is drawn again below it. Anywhere else (a CI job, a
// journal) a run's progress is a record every ProgressEvery, whatever the
// log level, so that a slow run is not taken for a hung one.
package console

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// The formats of log records.
const (
	FormatText = "text" // readable lines: time, level, message, fields
	FormatJSON = "json" // one JSON object a line
)

// Levels are the log levels, most verbose first.
var Levels = []string{"trace", "debug", "info", "warn", "error"}

// ParseLevel reads one of Levels, in any case (PATWATCH_LOG=DEBUG, as
// TF_LOG is written).
func ParseLevel(s string) (zerolog.Level, error) {
	for _, l := range Levels {
		if strings.EqualFold(s, l) {
			return zerolog.ParseLevel(l)
		}
	}
	return zerolog.NoLevel, fmt.Errorf("unknown log level %q", s)
}

// Options set up a Console.
type Options struct {
	Level   zerolog.Level
	Format  string // FormatText or FormatJSON
	NoColor bool   // no colour even on a terminal (NO_COLOR)
}

// Console is a command's standard error. Its zero value is not usable;
// New makes one.
type Console struct {
	w    io.Writer
	line *liveLine // the terminal's; nil off a terminal
	log  zerolog.Logger
}

// New returns the console of stderr.
func New(stderr io.Writer, o Options) (*Console, error) {
	c := &Console{w: stderr}
	if IsTerminal(stderr) {
		c.line = &liveLine{w: stderr}
		c.w = c.line
	}
	var w io.Writer
	switch o.Format {
	case FormatText:
		// Colour only on a terminal: escape codes in a log file or a
		// journal are noise.
		w = zerolog.ConsoleWriter{Out: c.w, TimeFormat: time.TimeOnly, NoColor: c.line == nil || o.NoColor}
	case FormatJSON:
		w = c.w
	default:
		return nil, fmt.Errorf("unknown log format %q", o.Format)
	}
	c.log = zerolog.New(w).Level(o.Level).With().Timestamp().Logger()
	return c, nil
}

// Log is the console's logger.
func (c *Console) Log() zerolog.Logger { return c.log }

// IsTerminal reports whether w is a character device, such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
