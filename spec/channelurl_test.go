package spec

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/hint"
)

// teamsURL is shoutrrr's documented example of a Teams webhook.
const teamsURL = "teams://11111111-4444-4444-8444-cccccccccccc@22222222-4444-4444-8444-cccccccccccc/33333333012222222222333333333344/44444444-4444-4444-8444-cccccccccccc/V2ESyij_gAljSoUQHvZoZYzlpAoAXExyOl26dlf1xHEx05?host=contoso.webhook.office.com"

func TestCheckChannelURL(t *testing.T) {
	tests := []struct {
		url     string
		webhook bool
		err     string
	}{
		{"https://hooks.example.com/patwatch", true, ""},
		{"https://hooks.example.com:8443/patwatch", true, ""},
		{"http://127.0.0.1:8080/hook", true, ""},
		{"http://[::1]/hook", true, ""},
		{"http://hooks.example.com/hook", false, "not loopback"},
		{"https:///nohost", false, "no host"},
		{"hooks.example.com/hook", false, "no scheme"},
		{"slak://hook:a-b-c@webhook", false, "slak://, which is neither"},
		{"slack://hook:WNA3PBYV6-F20DUQND3RQ-Webc4MAvoacrpPakR8phF0zi@webhook", false, ""},
		{"smtp://user:pw@mail.example.com:587/?from=patwatch@example.com&to=ip@example.com", false, ""},
		{"generic+https://receiver.example.com/hook", false, ""},
		{teamsURL, false, ""},
		{"teams://g@t", false, "not a teams URL"},
		{"smtp://mail.example.com/?from=a@example.com", false, "not a smtp URL"},
		// Ports a connection cannot use (issue 25.3.7: 99999 was taken,
		// then every delivery failed as if the receiver were down).
		{"https://hooks.example.com:99999/patwatch", false, "port 99999, which is not a port number"},
		{"http://127.0.0.1:0/hook", false, "port 0"},
		{"smtp://user:pw@mail.example.com:99999/?from=patwatch@example.com&to=ip@example.com", false, "port 99999"},
		{"generic+https://receiver.example.com:65536/hook", false, "port 65536"},
		{"https://hooks.example.com:65535/patwatch", true, ""},
		{"https://hooks.example.com:port/patwatch", false, "is not a URL"},
	}
	for _, tt := range tests {
		webhook, err := CheckChannelURL(tt.url)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.url, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want one with %q", tt.url, err, tt.err)
		case webhook != tt.webhook:
			t.Errorf("%s: webhook %v", tt.url, webhook)
		}
		if err != nil && (strings.Contains(err.Error(), "a-b-c") || strings.Contains(err.Error(), "pw@")) {
			t.Errorf("%s: the error holds the URL: %v", tt.url, err)
		}
	}
	var ue *URLError
	if _, err := CheckChannelURL("slak://x@y"); !errors.As(err, &ue) || !strings.Contains(ue.Hint(), "did you mean slack://") {
		t.Errorf("no suggestion: %v", err)
	}
}

// TestChannelURLIsCheckedAtLoad: a url: that CheckChannelURL refuses makes
// the spec invalid for every command, located at its value with the hint,
// as validate reports it; a URL from the environment is the notifier's to
// check when it sends.
func TestChannelURLIsCheckedAtLoad(t *testing.T) {
	const head = "version: 1\nsearches:\n  - {name: a, image: \"https://img.example/a.png\", patent_type: D, model: 1}\nnotify:\n"
	tests := []struct {
		url  string
		want string // the problem; "" for none
		hint string
	}{
		{"https://hooks.example.com/patwatch", "", ""},
		{"https://hooks.example.com:99999/patwatch", "6:10: notify[0].url: the URL has port 99999, which is not a port number (1 to 65535)", "port"},
		{"http://hooks.example.com/patwatch", "6:10: notify[0].url: the URL is plain http:// to a host that is not loopback", "use https://"},
		{"slak://hook:a-b-c@webhook", "6:10: notify[0].url: the URL has scheme slak://", "did you mean slack://"},
		{"hooks.example.com/patwatch", "6:10: notify[0].url: the URL has no scheme", "https://"},
	}
	for _, tt := range tests {
		src := head + "  - name: team\n    url: " + tt.url + "\n"
		_, err := Parse("patwatch.yaml", []byte(src))
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.url, err)
			}
			continue
		}
		var se *Error
		if !errors.As(err, &se) || len(se.Problems) != 1 {
			t.Fatalf("%s: %v; want one problem", tt.url, err)
		}
		p := se.Problems[0]
		if got := p.String(); !strings.HasPrefix(got, "patwatch.yaml:"+tt.want) || !strings.Contains(p.Hint, tt.hint) {
			t.Errorf("%s: %s (hint %q); want %s with a hint on %q", tt.url, got, p.Hint, tt.want, tt.hint)
		}
	}
	src := head + "  - name: team\n    url_env: PATWATCH_NOTIFY_TEAM\n"
	if _, err := Parse("patwatch.yaml", []byte(src)); err != nil {
		t.Errorf("a URL in the environment: %v", err)
	}
}

// A scheme shoutrrr has no service for, with a rule of its own, as a
// sender file of internal/notify registers one.
func init() { RegisterChannelScheme("Pigeon+Test", checkPigeon) }

func checkPigeon(u *url.URL) error {
	if u.Host == "" {
		return hint.Wrap(errors.New("names no loft"), "write pigeon+test://LOFT")
	}
	return nil
}

// TestRegisteredChannelScheme: a registered scheme's URLs pass its rule
// (any case) and the port's, are no webhook, and come back refused as a
// *URLError with the rule's reason and hint; a misspelt scheme is offered
// it.
func TestRegisteredChannelScheme(t *testing.T) {
	tests := []struct {
		url, err, hint string
	}{
		{"pigeon+test://loft", "", ""},
		{"PIGEON+TEST://loft", "", ""},
		{"pigeon+test:///no-loft", "names no loft", "write pigeon+test://LOFT"},
		{"pigeon+test://loft:99999", "port 99999", "port"},
		{"pidgeon+test://loft", "has scheme pidgeon://", "did you mean pigeon+test://? patwatch also sends to pigeon+test; webhooks are https://"},
	}
	for _, tt := range tests {
		webhook, err := CheckChannelURL(tt.url)
		var ue *URLError
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.url, err)
		case tt.err == "":
		case !errors.As(err, &ue) || !strings.Contains(ue.Error(), tt.err) || !strings.Contains(ue.Hint(), tt.hint):
			t.Errorf("%s: error %v (hint %q), want a *URLError with %q (hint %q)", tt.url, err, hint.Of(err), tt.err, tt.hint)
		}
		if webhook {
			t.Errorf("%s: a webhook", tt.url)
		}
	}
	src := "version: 1\nsearches:\n  - {name: a, image: \"https://img.example/a.png\", patent_type: D, model: 1}\nnotify:\n  - name: team\n    url: pigeon+test://loft\n"
	if _, err := Parse("patwatch.yaml", []byte(src)); err != nil {
		t.Errorf("the loader refuses a registered scheme: %v", err)
	}
}

// TestRegisterChannelSchemeRefuses: a scheme has one meaning.
func TestRegisterChannelSchemeRefuses(t *testing.T) {
	for _, scheme := range []string{"", "pigeon+test", "HTTPS", "slack", "generic+carrier"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%q registered", scheme)
				}
			}()
			RegisterChannelScheme(scheme, checkPigeon)
		}()
	}
}
