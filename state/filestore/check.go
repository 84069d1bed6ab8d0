package filestore

import (
	"context"
	"io"

	"github.com/patwatch/patwatch/state/statefile"
)

// oldCheck checks the state file that a save would replace, as Load
// reads it but keeping nothing, either at once or in the background.
type oldCheck struct {
	src    *io.SectionReader
	path   string
	layout *statefile.Layout  // of the content the file is compared with
	stop   context.CancelFunc // ends a check in the background

	started bool
	done    chan error // of a check in the background
	h       statefile.Header
	err     error
}

func newOldCheck(path string, src *io.SectionReader, layout *statefile.Layout) *oldCheck {
	return &oldCheck{src: src, path: path, layout: layout}
}

// now checks the file at once, unless that has happened, and returns its
// header.
func (c *oldCheck) now() (statefile.Header, error) {
	if !c.started {
		c.started = true
		var err error
		if c.h, err = statefile.Check(context.Background(), c.src, statefile.Known{}); err != nil {
			c.err = loadError(c.path, err, true)
		}
	}
	return c.h, c.wait()
}

// start begins the check in the background, unless it has begun, knowing
// that the file's first n bytes are those of the encoding. The encoder
// calls it, through the diffWriter, and is then asked to leave the other
// core to the check.
func (c *oldCheck) start(n int64) {
	if c.started {
		return
	}
	c.started = true
	c.layout.KeepToOneGoroutine()
	c.done = make(chan error, 1)
	known := c.layout.Known(n)
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	go func() {
		_, err := statefile.Check(ctx, c.src, known)
		c.done <- err
	}()
}

// wait returns the check's result once it has finished: nil if it never
// started.
func (c *oldCheck) wait() error {
	if c.done != nil {
		if err := <-c.done; err != nil {
			c.err = loadError(c.path, err, true)
		}
		c.done = nil
	}
	return c.err
}

// cancel stops a check that is still running and waits for it to end.
func (c *oldCheck) cancel() {
	if c.stop != nil {
		c.stop()
	}
	c.wait()
}
