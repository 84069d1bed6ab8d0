package runner

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/reconciler"
)

// TestProgressIsLoggedOffATerminal: a run whose stderr is no terminal logs
// how far it is every 30 s, whether or not it advanced, and stops with the
// run. The bubble's clock makes the minutes pass at once.
func TestProgressIsLoggedOffATerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stderr syncBuffer
		p := ShowProgress(nil, zerolog.New(&stderr))
		p.Update(reconciler.Progress{SearchesDone: 1, SearchesTotal: 3, ReportsTotal: 1})
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := stderr.String(); got != "" {
			t.Fatalf("logged before 30s: %s", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], `"searches_done":1,"searches":3,"reports_done":0,"reports":1`) ||
			!strings.Contains(lines[0], `"elapsed":"30s"`) || !strings.Contains(lines[0], "run in progress") {
			t.Fatalf("after 30s: %q", lines)
		}
		time.Sleep(30 * time.Second) // no advance: logged all the same
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
			t.Errorf("logged after done: %d lines", n)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a writer and a concurrent reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
