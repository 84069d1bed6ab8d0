package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/patwatch/patwatch/reconciler"
)

// progressLine draws a live progress line on a terminal's stderr, redrawn in
// place; on anything else it draws nothing.
type progressLine struct {
	w     io.Writer // nil when not a terminal
	drawn bool
}

func newProgressLine(stderr io.Writer) *progressLine {
	if !isTerminal(stderr) {
		return &progressLine{}
	}
	return &progressLine{w: stderr}
}

func (p *progressLine) update(pr reconciler.Progress) {
	if p.w == nil {
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

// done clears the line so that the change report starts on a clean one.
func (p *progressLine) done() {
	if p.w != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
