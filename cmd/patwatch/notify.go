package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/spec"
)

// runNotifyTest implements 'patwatch notify test [NAME...]': a test
// message to each named channel (all when none is named), one line per
// channel, exit 1 if any delivery failed.
func runNotifyTest(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "notify test")
	file := fs.String("f", defaultSpec, "read the channels from the spec in `SPEC`; - reads it from standard input")
	lf := addLogFlags(fs)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	log, err := lf.logger(e)
	if err != nil {
		return err
	}
	sp, err := loadSpec(e, *file)
	if err != nil {
		return specError(e.stderr, *file, err)
	}
	if len(sp.Notify) == 0 {
		return hint.Wrap(fmt.Errorf("%s has no notification channels", specName(*file)),
			"add a notify list to the spec; see 'patwatch schema' or the README's Notifications section")
	}
	var all []string
	for _, ch := range sp.Notify {
		all = append(all, ch.Name)
	}
	chosen := sp.Notify
	if len(names) > 0 {
		chosen = nil
		for _, name := range names {
			i := slices.IndexFunc(sp.Notify, func(c spec.Channel) bool { return c.Name == name })
			if i < 0 {
				advice := "the spec's channels are " + orList(all)
				if best := spec.Suggest(name, all); best != "" {
					advice = "did you mean " + best + "? " + advice
				}
				return hint.Wrap(fmt.Errorf("no notification channel is named %q", name), advice)
			}
			chosen = append(chosen, sp.Notify[i])
		}
	}

	n := newNotifier(e, log)
	errs := make([]error, len(chosen))
	var wg sync.WaitGroup
	for i, ch := range chosen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.Send(ctx, ch, notify.TestMessage(ch.Name, specName(*file), e.clock()))
		}()
	}
	wg.Wait()
	var failed failures
	for i, ch := range chosen {
		if errs[i] != nil {
			failed = append(failed, fmt.Errorf("%s: %w", ch.Name, errs[i]))
			continue
		}
		fmt.Fprintf(e.stdout, "%s: test message delivered\n", ch.Name)
	}
	if len(failed) > 0 {
		return append(failed, fmt.Errorf("%d of %s failed", len(failed), plural(len(chosen), "channel", "channels")))
	}
	return nil
}

// checkChannels checks the URL of every channel validate can see: one
// written in the spec, and one in a variable that is set. An unset
// variable is only noted (pull-request checks run without secrets), as
// is a key that would not be used or is missing. Problems are located at
// the url or url_env field.
func checkChannels(e env, sp *spec.Spec, file string) (problems []spec.Problem, notes []string) {
	for i, ch := range sp.Notify {
		field, raw := "url", ch.URL
		if ch.URLEnv != "" {
			field, raw = "url_env", e.getenv(ch.URLEnv)
		}
		path := "notify[" + strconv.Itoa(i) + "]." + field
		if raw == "" {
			notes = append(notes, fmt.Sprintf("notify %s: %s is not set here, so its URL is not checked; apply keeps the channel's messages in the state until it is set", ch.Name, ch.URLEnv))
			continue
		}
		webhook, err := spec.CheckChannelURL(raw)
		if err != nil {
			line, col := ch.URLLine, ch.URLCol
			if line == 0 {
				line, col = ch.Line, 1
			}
			what := "the URL "
			if ch.URLEnv != "" {
				what = "the URL in " + ch.URLEnv + " "
			}
			p := spec.Problem{File: specName(file), Line: line, Col: col, Path: path, Msg: what + err.Error()}
			var ue *spec.URLError
			if errors.As(err, &ue) {
				p.Hint = ue.Hint()
			}
			problems = append(problems, p)
			continue
		}
		if w := notify.WebhookWarning(raw); w != "" {
			notes = append(notes, fmt.Sprintf("notify %s: %s", ch.Name, w))
		}
		switch {
		case ch.SecretEnv != "" && !webhook:
			notes = append(notes, fmt.Sprintf("notify %s: secret_env is only used by webhooks (https://); a service URL is not signed", ch.Name))
		case ch.SecretEnv != "" && e.getenv(ch.SecretEnv) == "":
			notes = append(notes, fmt.Sprintf("notify %s: %s is not set here; apply keeps the channel's messages until it is, rather than send them unsigned", ch.Name, ch.SecretEnv))
		}
	}
	return problems, notes
}
