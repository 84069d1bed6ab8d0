package notify

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

func TestWebhookWarning(t *testing.T) {
	if w := WebhookWarning("https://hooks.slack.com/services/T/B/X"); !strings.Contains(w, "slack://hook:") {
		t.Errorf("no Slack warning: %q", w)
	}
	if w := WebhookWarning("https://hooks.example.com/patwatch"); w != "" {
		t.Errorf("a warning for a generic webhook: %q", w)
	}
}

// TestDeliveryChecksTheURLAsValidateDoes: a URL from the environment that
// validate refuses (a port out of range) is never tried: the channel's
// messages stay for the next run with validate's reason, no attempt is
// made, and the error never holds the URL.
func TestDeliveryChecksTheURLAsValidateDoes(t *testing.T) {
	const raw = "https://hooks.example.com:99999/hook-token-7f3a9c2b"
	attempts := 0
	n := testNotifier(map[string]string{"HOOK": raw}, nil, nil)
	n.Client = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		attempts++
		return nil, errors.New("no request should be made")
	})}
	out := n.Deliver(context.Background(), []spec.Channel{{Name: "a", URLEnv: "HOOK", On: spec.EventKinds}}, []*state.Message{message("x", "a")}, nil)
	err := out.Err()
	if err == nil || !strings.Contains(err.Error(), "the URL in HOOK has port 99999") || len(out.Outbox) != 1 {
		t.Fatalf("err %v, outbox %d; want the message kept with validate's reason", err, len(out.Outbox))
	}
	if attempts != 0 {
		t.Errorf("%d attempts of a URL validate refuses", attempts)
	}
	if strings.Contains(err.Error()+out.Outbox[0].LastError, "hook-token") {
		t.Errorf("the error holds the URL: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
