package runner

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/reconciler"
)

// progressLogEvery is how often a run whose stderr is no terminal (a CI
// job, a service's journal) logs how far it is: often enough that a slow
// run is not taken for a hung one.
const progressLogEvery = 30 * time.Second

// ProgressLine shows how a run advances: on a terminal's stderr as a live
// line redrawn in place, anywhere else as a log line every
// progressLogEvery, until done.
type ProgressLine struct {
	w     io.Writer // the terminal; nil when logging instead
	drawn bool

	log     zerolog.Logger
	started time.Time
	mu      sync.Mutex
	last    reconciler.Progress
	stop    chan struct{} // closed by done
	stopped chan struct{} // closed when the logging goroutine has ended
}

// ShowProgress starts showing how a run advances: as a live line on
// terminal, a terminal that nothing else writes to; with none (nil), as a
// log line every 30 s. The run's Progress is the returned line's Update;
// Done ends it.
func ShowProgress(terminal io.Writer, log zerolog.Logger) *ProgressLine {
	if terminal != nil {
		return &ProgressLine{w: terminal}
	}
	p := &ProgressLine{log: log, started: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	go p.logEvery(progressLogEvery)
	return p
}

// logEvery logs the latest progress every d until done.
func (p *ProgressLine) logEvery(d time.Duration) {
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

// Update shows pr.
func (p *ProgressLine) Update(pr reconciler.Progress) {
	if p.w == nil {
		p.mu.Lock()
		p.last = pr
		p.mu.Unlock()
		return
	}
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
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

// Done clears the line so that the change report starts on a clean one,
// or stops the logging and waits for it to end.
func (p *ProgressLine) Done() {
	if p.w != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
	}
}
