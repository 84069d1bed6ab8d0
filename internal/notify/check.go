package notify

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/patwatch/patwatch/spec"
)

// CheckChannels checks the URL of every channel of sp that can be seen
// here: one written in the spec, and one in a variable getenv finds set.
// An unset variable is only noted (pull-request checks run without
// secrets), as is a key that would not be used or is missing. Problems are
// located at the url or url_env field of the spec file named file.
func CheckChannels(getenv func(string) string, sp *spec.Spec, file string) (problems []spec.Problem, notes []string) {
	for i, ch := range sp.Notify {
		field, raw := "url", ch.URL
		if ch.URLEnv != "" {
			field, raw = "url_env", getenv(ch.URLEnv)
		}
		if raw == "" {
			notes = append(notes, fmt.Sprintf("notify %s: %s is not set here, so its URL is not checked; apply keeps the channel's messages in the state until it is set", ch.Name, ch.URLEnv))
			continue
		}
		webhook, err := spec.CheckChannelURL(raw)
		if err != nil {
			problems = append(problems, urlProblem(ch, file, "notify["+strconv.Itoa(i)+"]."+field, err))
			continue
		}
		if w := WebhookWarning(raw); w != "" {
			notes = append(notes, fmt.Sprintf("notify %s: %s", ch.Name, w))
		}
		switch {
		case ch.SecretEnv != "" && !webhook:
			notes = append(notes, fmt.Sprintf("notify %s: secret_env is only used by webhooks (https://); a service URL is not signed", ch.Name))
		case ch.SecretEnv != "" && getenv(ch.SecretEnv) == "":
			notes = append(notes, fmt.Sprintf("notify %s: %s is not set here; apply keeps the channel's messages until it is, rather than send them unsigned", ch.Name, ch.SecretEnv))
		}
	}
	return problems, notes
}

// urlProblem is the problem of ch's URL, refused by spec.CheckChannelURL
// with err, at the field path.
func urlProblem(ch spec.Channel, file, path string, err error) spec.Problem {
	line, col := ch.URLLine, ch.URLCol
	if line == 0 {
		line, col = ch.Line, 1
	}
	what := "the URL "
	if ch.URLEnv != "" {
		what = "the URL in " + ch.URLEnv + " "
	}
	p := spec.Problem{File: file, Line: line, Col: col, Path: path, Msg: what + err.Error()}
	var ue *spec.URLError
	if errors.As(err, &ue) {
		p.Hint = ue.Hint()
	}
	return p
}
