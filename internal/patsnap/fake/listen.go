package fake

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ListenLoopback serves s over HTTP on an ephemeral port of 127.0.0.1, for
// callers outside tests (the --sandbox mode) that should not depend on
// net/http/httptest. It returns the base URL and a stop function that closes
// the listener and every connection and waits for the serving goroutine to
// end.
func (s *Server) ListenLoopback() (baseURL string, stop func() error, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("fake: listen on loopback: %w", err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	stop = func() error {
		// Close, not Shutdown: the caller stops the server once its run is
		// over, and Shutdown waits 5 s for any connection a client opened
		// and never used (net/http counts a new connection as busy until
		// then), which made about half the sandbox runs 5 s longer.
		err := hs.Close()
		if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
			err = serveErr
		}
		return err
	}
	return "http://" + ln.Addr().String(), stop, nil
}
