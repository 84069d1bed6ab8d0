package schema_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/patwatch/patwatch/internal/buftest"
)

// lspServer is a language server run as a child process and spoken to over
// its standard input and output (LSP's base protocol: Content-Length framed
// JSON-RPC 2.0). It answers the server's workspace/configuration requests
// with settings, keeps each document's first published diagnostics, and
// hands every response to the request that waits for it.
type lspServer struct {
	cmd      *exec.Cmd
	settings map[string]any // workspace/configuration answers, by section
	done     chan struct{}  // closed when the server's output ends
	stderr   buftest.Buffer

	wmu sync.Mutex // one message at a time on in
	in  io.WriteCloser

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan lspMessage
	diags   map[string]chan []diagnostic // by document URI; the first publication only
	err     error                        // why the output ended
}

// lspMessage is any JSON-RPC message: a request (ID and Method), a
// notification (Method only) or a response (ID, Result or Error).
type lspMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// diagnostic is an LSP Diagnostic, with the parts the tests read.
type diagnostic struct {
	Range struct {
		Start position `json:"start"`
		End   position `json:"end"`
	} `json:"range"`
	Severity int    `json:"severity"`
	Message  string `json:"message"`
	Source   string `json:"source"`
}

// position is 0-based, as LSP counts.
type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// startLSP runs argv as a language server speaking LSP on its stdio. The
// process is killed when the test ends.
func startLSP(t *testing.T, settings map[string]any, argv ...string) *lspServer {
	t.Helper()
	s := &lspServer{
		settings: settings,
		done:     make(chan struct{}),
		waiting:  map[int]chan lspMessage{},
		diags:    map[string]chan []diagnostic{},
	}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stderr = &s.stderr
	var err error
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go s.read(bufio.NewReader(out))
	t.Cleanup(func() {
		s.in.Close()
		_ = s.cmd.Process.Kill()
		<-s.done
		_ = s.cmd.Wait()
	})
	return s
}

// read dispatches the server's messages until its output ends.
func (s *lspServer) read(r *bufio.Reader) {
	defer close(s.done)
	for {
		m, err := readMessage(r)
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		switch {
		case m.Method != "" && len(m.ID) > 0:
			s.answer(m)
		case m.Method == "textDocument/publishDiagnostics":
			var p struct {
				URI         string       `json:"uri"`
				Diagnostics []diagnostic `json:"diagnostics"`
			}
			if json.Unmarshal(m.Params, &p) == nil {
				select {
				case s.diagnostics(p.URI) <- p.Diagnostics:
				default: // a later publication (a close clears them): not the verdict
				}
			}
		case m.Method == "":
			id, _ := strconv.Atoi(string(m.ID))
			s.mu.Lock()
			ch := s.waiting[id]
			delete(s.waiting, id)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// readMessage reads one Content-Length framed message.
func readMessage(r *bufio.Reader) (lspMessage, error) {
	h, err := textproto.NewReader(r).ReadMIMEHeader()
	if err != nil {
		return lspMessage{}, err
	}
	n, err := strconv.Atoi(h.Get("Content-Length"))
	if err != nil {
		return lspMessage{}, fmt.Errorf("bad Content-Length %q", h.Get("Content-Length"))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return lspMessage{}, err
	}
	var m lspMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return lspMessage{}, fmt.Errorf("message %q: %w", body, err)
	}
	return m, nil
}

// answer replies to a request from the server: the settings it asks for,
// and an empty success to anything else (capability registrations,
// progress tokens).
func (s *lspServer) answer(m lspMessage) {
	var result any
	if m.Method == "workspace/configuration" {
		var p struct {
			Items []struct {
				Section string `json:"section"`
			} `json:"items"`
		}
		_ = json.Unmarshal(m.Params, &p)
		answers := make([]any, len(p.Items))
		for i, it := range p.Items {
			answers[i] = s.settings[it.Section]
		}
		result = answers
	}
	_ = s.write(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
}

// diagnostics is the channel of the first diagnostics published for uri.
func (s *lspServer) diagnostics(uri string) chan []diagnostic {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.diags[uri]
	if !ok {
		ch = make(chan []diagnostic, 1)
		s.diags[uri] = ch
	}
	return ch
}

func (s *lspServer) write(v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err = fmt.Fprintf(s.in, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

// notify sends a notification.
func (s *lspServer) notify(method string, params any) error {
	return s.write(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// call sends a request and decodes its result into result.
func (s *lspServer) call(ctx context.Context, method string, params, result any) error {
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	ch := make(chan lspMessage, 1)
	s.waiting[id] = ch
	s.mu.Unlock()
	if err := s.write(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: error %d: %s", method, m.Error.Code, m.Error.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(m.Result, result)
	case <-s.done:
		return fmt.Errorf("%s: %w", method, s.exitErr())
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
		return fmt.Errorf("%s: no answer: %w", method, ctx.Err())
	}
}

// waitDiagnostics returns the first diagnostics the server publishes for uri.
func (s *lspServer) waitDiagnostics(ctx context.Context, uri string) ([]diagnostic, error) {
	select {
	case d := <-s.diagnostics(uri):
		return d, nil
	case <-s.done:
		return nil, fmt.Errorf("diagnostics of %s: %w", uri, s.exitErr())
	case <-ctx.Done():
		return nil, fmt.Errorf("diagnostics of %s: none published: %w", uri, ctx.Err())
	}
}

// exitErr says why the server's output ended, with what it wrote to stderr.
func (s *lspServer) exitErr() error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if errors.Is(err, io.EOF) {
		err = errors.New("the server exited")
	}
	return fmt.Errorf("%w; its stderr:\n%s", err, s.stderr.String())
}
