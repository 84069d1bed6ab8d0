package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/slack"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/teams"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// handed delivers m to a channel whose URL is n's $URL and returns what
// patwatch handed to shoutrrr, without sending it: Slack and Teams have
// fixed hosts that a test cannot reach.
func handed(t *testing.T, n *Notifier, m *state.Message) *prepared {
	t.Helper()
	var got *prepared
	n.sendService = func(_ context.Context, p *prepared) error { got = p; return nil }
	out := n.Deliver(context.Background(), []spec.Channel{{Name: m.Channel, URLEnv: "URL", On: spec.EventKinds}}, []*state.Message{m}, nil)
	if err := out.Err(); err != nil || got == nil {
		t.Fatalf("%v (handed %v)", err, got != nil)
	}
	return got
}

func digestMessage() *state.Message {
	return Compose([]spec.Channel{{Name: "ip-team", On: spec.EventKinds}}, Events(sampleReport()), sampleRun())[0]
}

func TestSlackGetsTheDigest(t *testing.T) {
	const hook = "slack://hook:WNA3PBYV6-F20DUQND3RQ-Webc4MAvoacrpPakR8phF0zi@webhook?botname=patwatch"
	m := digestMessage()
	p := handed(t, testNotifier(map[string]string{"URL": hook}, nil, nil), m)
	svc, ok := p.service.(*slack.Service)
	if !ok {
		t.Fatalf("service %T", p.service)
	}
	if got := svc.Config.Token.WebhookURL(); got != "https://hooks.slack.com/services/WNA3PBYV6/F20DUQND3RQ/Webc4MAvoacrpPakR8phF0zi" {
		t.Errorf("webhook %s", got)
	}
	subject, digest := Digest(m, DigestLimit)
	if svc.Config.Title != subject || svc.Config.BotName != "patwatch" {
		t.Errorf("title %q, bot %q", svc.Config.Title, svc.Config.BotName)
	}
	if p.text != strings.TrimPrefix(digest, subject+"\n")+"\nmessage id "+m.ID+"\n" {
		t.Errorf("text handed to Slack:\n%s", p.text)
	}
	// What Slack's webhook then receives, as shoutrrr builds it.
	payload, err := json.Marshal(slack.CreateJSONPayload(svc.Config, p.text))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"text":"patwatch: 2 new hits, 1 dropped`, `"+ EU0065350760001S  Mobile phones"`, `"username":"patwatch"`, m.ID} {
		if !strings.Contains(string(payload), want) {
			t.Errorf("the Slack payload lacks %s:\n%s", want, payload)
		}
	}

	// A title in the URL is the user's: the digest keeps its first line.
	withTitle := hook + "&title=Designs"
	p = handed(t, testNotifier(map[string]string{"URL": withTitle}, nil, nil), m)
	if svc := p.service.(*slack.Service); svc.Config.Title != "Designs" || !strings.HasPrefix(p.text, subject+"\n") {
		t.Errorf("title %q, text %q", svc.Config.Title, p.text[:40])
	}
}

func TestTeamsGetsTheDigest(t *testing.T) {
	m := digestMessage()
	p := handed(t, testNotifier(map[string]string{"URL": teamsURL}, nil, nil), m)
	svc, ok := p.service.(*teams.Service)
	if !ok {
		t.Fatalf("service %T", p.service)
	}
	c := svc.Config
	want := "https://contoso.webhook.office.com/webhookb2/11111111-4444-4444-8444-cccccccccccc@22222222-4444-4444-8444-cccccccccccc/IncomingWebhook/33333333012222222222333333333344/44444444-4444-4444-8444-cccccccccccc/V2ESyij_gAljSoUQHvZoZYzlpAoAXExyOl26dlf1xHEx05"
	if got := teams.BuildWebhookURL(c.Host, c.Group, c.Tenant, c.AltID, c.GroupOwner, c.ExtraID); got != want {
		t.Errorf("webhook\n got %s\nwant %s", got, want)
	}
	subject, _ := Digest(m, DigestLimit)
	if c.Title != subject {
		t.Errorf("card title %q", c.Title)
	}
	// Teams makes a section of each line: the hits are lines of their own.
	if !strings.Contains(p.text, "\n+ EU0065350760001S  Mobile phones\n") || !strings.Contains(p.text, "\n- USD810151S  Armchair\n") {
		t.Errorf("text handed to Teams:\n%s", p.text)
	}
}
