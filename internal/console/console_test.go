package console

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/reconciler"
)

// TestProgressIsRecordedOffATerminal: a run whose stderr is no terminal
// records how far it is every 30 s, whether or not it advanced, at any log
// level, and stops with the run. The bubble's clock makes the minutes pass
// at once.
func TestProgressIsRecordedOffATerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stderr buftest.Buffer
		c, err := New(&stderr, Options{Level: zerolog.ErrorLevel, Format: FormatJSON})
		if err != nil {
			t.Fatal(err)
		}
		p := c.Progress(Live)
		p.Update(reconciler.Progress{SearchesDone: 1, SearchesTotal: 3, ReportsTotal: 1})
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := stderr.String(); got != "" {
			t.Fatalf("recorded before 30s: %s", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], `"searches_done":1,"searches":3,"reports_done":0,"reports":1`) ||
			!strings.Contains(lines[0], `"elapsed":"30s"`) || !strings.Contains(lines[0], "run in progress") {
			t.Fatalf("after 30s: %q", lines)
		}
		time.Sleep(30 * time.Second) // no advance: recorded all the same
		synctest.Wait()
		p.Update(reconciler.Progress{SearchesDone: 3, SearchesTotal: 3, ReportsTotal: 1, Queue: []int{4}})
		time.Sleep(30 * time.Second)
		synctest.Wait()
		lines = strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 3 || !strings.Contains(lines[1], `"elapsed":"1m0s"`) || !strings.Contains(lines[2], `"searches_done":3`) || !strings.Contains(lines[2], `"queue":[4]`) {
			t.Fatalf("after 90s: %q", lines)
		}
		p.Done()
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := strings.Count(stderr.String(), "\n"); n != 3 {
			t.Errorf("recorded after done: %d lines", n)
		}
	})
}

// TestLiveLineNeverSharesALine: on a terminal, a log record written while
// the progress line is drawn clears it, takes a line of its own, and the
// progress line is drawn again below it; Done takes it away.
func TestLiveLineNeverSharesALine(t *testing.T) {
	var term bytes.Buffer
	line := &liveLine{w: &term}
	c := &Console{w: line, line: line}
	c.log = zerolog.New(zerolog.ConsoleWriter{Out: c.w, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}})
	p := c.Progress(Live)
	p.Update(reconciler.Progress{SearchesDone: 1, SearchesTotal: 3})
	log := c.Log()
	log.Warn().Msg("search failed")
	p.Update(reconciler.Progress{SearchesDone: 2, SearchesTotal: 3})
	p.Done()
	want := clear + "patwatch: searches 1/3" +
		clear + "WRN search failed\n" + "patwatch: searches 1/3" +
		clear + "patwatch: searches 2/3" +
		clear
	if got := term.String(); got != want {
		t.Errorf("the terminal got\n%q\nwant\n%q", got, want)
	}
}

// TestFormats: text records are readable lines without escape codes off a
// terminal; JSON records are objects; the level filters both.
func TestFormats(t *testing.T) {
	for _, c := range []struct{ format, want string }{
		{FormatText, "WRN careful search=alpha\n"},
		{FormatJSON, `{"level":"warn","search":"alpha","message":"careful"}` + "\n"},
	} {
		var stderr bytes.Buffer
		con, err := New(&stderr, Options{Level: zerolog.WarnLevel, Format: c.format})
		if err != nil {
			t.Fatal(err)
		}
		log := con.Log()
		log.Info().Msg("not shown")
		log.Warn().Str("search", "alpha").Msg("careful")
		got := stderr.String()
		if c.format == FormatText {
			_, got, _ = strings.Cut(got, " ") // the time
		} else {
			got = strings.Replace(got, got[strings.Index(got, `,"time"`):strings.Index(got, `,"message"`)], "", 1)
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.format, got, c.want)
		}
	}
	if _, err := New(&bytes.Buffer{}, Options{Format: "pretty"}); err == nil {
		t.Error("an unknown format was accepted")
	}
}

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]zerolog.Level{"debug": zerolog.DebugLevel, "WARN": zerolog.WarnLevel, "Trace": zerolog.TraceLevel} {
		if got, err := ParseLevel(s); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "warning", "1"} {
		if _, err := ParseLevel(s); err == nil {
			t.Errorf("ParseLevel(%q) succeeded", s)
		}
	}
}
