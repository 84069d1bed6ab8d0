package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/hint"
)

// TestPrintError pins how an error is told and the exit status it means:
// error lines, then hints; failures one after the other, the last one
// setting the status; nothing for an ExitCode or help.
func TestPrintError(t *testing.T) {
	failed := hint.Wrap(errors.New("search a: timeout"), "run it again")
	tests := []struct {
		name   string
		err    error
		status int
		out    string
	}{
		{"none", nil, StatusOK, ""},
		{"help", fmt.Errorf("parse: %w", flag.ErrHelp), StatusOK, ""},
		{"plain", errors.New("boom"), StatusError, "prog: error: boom\n"},
		{"lines and hints", hint.Wrap(errors.New("two\nlines"), "one", "two"), StatusError,
			"prog: error: two\nprog: error: lines\nprog: hint: one\nprog: hint: two\n"},
		{"exit code", ExitCode(2), 2, ""},
		{"failures", Join(failed, errors.New("and another")), StatusError,
			"prog: error: search a: timeout\nprog: hint: run it again\nprog: error: and another\n"},
		{"failures that set the status", Join(failed, ExitCode(StatusOK)), StatusOK,
			"prog: error: search a: timeout\nprog: hint: run it again\n"},
		{"changed", Join(failed, ExitCode(2)), 2, "prog: error: search a: timeout\nprog: hint: run it again\n"},
	}
	a := testApp()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if tt.err != nil {
				a.printError(&b, tt.err)
			}
			if got := status(tt.err); got != tt.status || b.String() != tt.out {
				t.Errorf("status %d, printed:\n%s\nwant %d and:\n%s", got, b.String(), tt.status, tt.out)
			}
		})
	}
}

// TestJoin: nil errors are dropped, one error stays itself, Failures are
// flattened, never nested, and still match errors.Is.
func TestJoin(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	if err := Join(nil, nil); err != nil {
		t.Errorf("Join(nil, nil) = %v", err)
	}
	if err := Join(nil, a); err != a {
		t.Errorf("Join(nil, a) = %v, want a itself", err)
	}
	got, ok := Join(Join(a, b), nil, c, ExitCode(2)).(Failures)
	if !ok || len(got) != 4 || got[0] != a || got[1] != b || got[2] != c {
		t.Fatalf("Join(Join(a, b), nil, c, 2) = %#v", got)
	}
	if got.Error() != "a\nb\nc" || !errors.Is(got, b) {
		t.Errorf("Failures: %q, errors.Is(b) %v", got.Error(), errors.Is(got, b))
	}
}
