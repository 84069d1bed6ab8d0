package console

import (
	"io"
	"sync"
)

// liveLine is a terminal's standard error with a line that is redrawn in
// place: whatever else is written clears it first and draws it again
// after, so that the two never share a line.
type liveLine struct {
	mu   sync.Mutex
	w    io.Writer
	text string // the line drawn; "" for none
}

// clear is the escape sequence that takes the cursor to the start of the
// line and erases it.
const clear = "\r\033[K"

// Write writes p on lines of its own, below which the live line stays.
func (l *liveLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.text != "" {
		io.WriteString(l.w, clear)
	}
	n, err := l.w.Write(p)
	if l.text != "" {
		io.WriteString(l.w, l.text)
	}
	return n, err
}

// draw replaces the live line with text; "" takes it away.
func (l *liveLine) draw(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if text != "" || l.text != "" {
		io.WriteString(l.w, clear+text)
	}
	l.text = text
}
