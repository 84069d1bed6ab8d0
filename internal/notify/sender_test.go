package notify

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// TestSenderOf: a URL goes to the sender registered for its scheme, in any
// case, and every other scheme to shoutrrr's digest.
func TestSenderOf(t *testing.T) {
	tests := []struct {
		scheme string
		want   sender
	}{
		{"https", webhookSender{}},
		{"HTTP", webhookSender{}},
		{"smtp", mailSender{}},
		{"slack", digestSender{}},
		{"generic+https", digestSender{}},
		{"loopback+test", loopbackSender{}},
	}
	for _, tt := range tests {
		if got := senderOf(tt.scheme); got != tt.want {
			t.Errorf("%s: %T, want %T", tt.scheme, got, tt.want)
		}
	}
}

func TestRegisterRefusesASecondSender(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a second sender for smtp registered")
		}
	}()
	register(loopbackSender{}, "SMTP")
}

// TestChannelInOneFile: loopback_test.go adds a channel without an edit
// elsewhere: validate's and the loader's rule accept its URLs and refuse
// those it refuses, with its hint, and the notifier delivers to it (apply's
// Deliver, and Send of 'patwatch notify test').
func TestChannelInOneFile(t *testing.T) {
	src := "version: 1\nsearches:\n  - {name: a, image: \"https://img.example/a.png\", patent_type: D, model: 1}\n" +
		"notify:\n  - name: desk\n    url: loopback+test://desk\n  - name: far\n    url_env: FAR\n"
	sp, err := spec.Parse("patwatch.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FAR": "loopback+test://"}
	problems, _ := CheckChannels(func(k string) string { return env[k] }, sp, "patwatch.yaml")
	if len(problems) != 1 || !strings.Contains(problems[0].String(), "notify[1].url_env: the URL in FAR names no inbox") || problems[0].Hint != "write loopback+test://INBOX" {
		t.Fatalf("problems %v; want FAR's URL refused by the channel's rule", problems)
	}

	inbox := openInbox("desk")
	n := testNotifier(env, nil, nil)
	m := message("L:1:desk:abc", "desk")
	out := n.Deliver(context.Background(), sp.Notify[:1], []*state.Message{m}, nil)
	if err := out.Err(); err != nil || len(out.Outbox) != 0 {
		t.Fatalf("err %v, outbox %d", err, len(out.Outbox))
	}
	if got := <-inbox; !bytes.Equal(got, Body(m)) {
		t.Errorf("the inbox got %s, want %s", got, Body(m))
	}
	test := TestMessage("desk", "patwatch.yaml", runTime)
	if err := n.Send(context.Background(), sp.Notify[0], test); err != nil {
		t.Fatalf("notify test: %v", err)
	}
	if got := <-inbox; !bytes.Equal(got, Body(test)) {
		t.Errorf("notify test: the inbox got %s", got)
	}

	out = n.Deliver(context.Background(), sp.Notify[1:], []*state.Message{message("L:1:far:abc", "far")}, nil)
	if err := out.Err(); err == nil || !strings.Contains(err.Error(), "the URL in FAR names no inbox") || len(out.Outbox) != 1 {
		t.Errorf("err %v, outbox %d; want the message kept with the rule's reason", err, len(out.Outbox))
	}
}
