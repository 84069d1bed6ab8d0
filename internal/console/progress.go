package console

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/reconciler"
)

// ProgressEvery is how often a run whose standard error is no terminal
// says how far it is.
const ProgressEvery = 30 * time.Second

// Shown is where a run shows its progress.
type Shown int

const (
	// Live draws the live line on a terminal, and writes a record every
	// ProgressEvery elsewhere.
	Live Shown = iota
	// Recorded always writes records: watch mode's change reports share
	// the terminal.
	Recorded
)

// Progress shows how a run advances until Done.
type Progress struct {
	line *liveLine // the terminal's; nil when writing records

	log     zerolog.Logger
	started time.Time
	mu      sync.Mutex
	last    reconciler.Progress
	stop    chan struct{} // closed by Done
	stopped chan struct{} // closed when the recording goroutine has ended
}

// Progress starts the progress of a run, shown as how says.
func (c *Console) Progress(how Shown) *Progress {
	if how == Live && c.line != nil {
		return &Progress{line: c.line}
	}
	// Whatever the log level: progress is no log record to be filtered.
	p := &Progress{log: c.log.Level(zerolog.InfoLevel), started: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	go p.recordEvery(ProgressEvery)
	return p
}

// recordEvery records the latest progress every d until Done.
func (p *Progress) recordEvery(d time.Duration) {
	defer close(p.stopped)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			pr := p.last
			p.mu.Unlock()
			ev := p.log.Info().Int("searches_done", pr.SearchesDone).Int("searches", pr.SearchesTotal).
				Int("reports_done", pr.ReportsDone).Int("reports", pr.ReportsTotal)
			if len(pr.Queue) > 0 {
				ev = ev.Ints("queue", pr.Queue)
			}
			ev.Str("elapsed", time.Since(p.started).Round(time.Second).String()).Msg("run in progress")
		}
	}
}

// Update shows pr, the run's latest progress.
func (p *Progress) Update(pr reconciler.Progress) {
	if p.line == nil {
		p.mu.Lock()
		p.last = pr
		p.mu.Unlock()
		return
	}
	p.line.draw(lineOf(pr))
}

// lineOf is the live line of pr.
func lineOf(pr reconciler.Progress) string {
	line := fmt.Sprintf("patwatch: searches %d/%d", pr.SearchesDone, pr.SearchesTotal)
	if pr.ReportsTotal > 0 {
		line += fmt.Sprintf(", reports %d/%d", pr.ReportsDone, pr.ReportsTotal)
	}
	if len(pr.Queue) > 0 {
		pos := make([]string, len(pr.Queue))
		for i, q := range pr.Queue {
			pos[i] = fmt.Sprint(q)
		}
		line += fmt.Sprintf(", %d waiting (queue %s)", len(pr.Queue), strings.Join(pos, ", "))
	}
	return line
}

// Done takes the live line away, so that the change report starts on a
// clean one, or stops the records and waits for them to end.
func (p *Progress) Done() {
	if p.line != nil {
		p.line.draw("")
	}
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
	}
}
