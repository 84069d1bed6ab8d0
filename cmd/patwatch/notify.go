package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/suggest"
	"github.com/patwatch/patwatch/spec"
	"github.com/rs/zerolog"
)

// runNotifyTest implements 'patwatch notify test [NAME...]': a test
// message to each named channel (all when none is named), one line per
// channel, exit 1 if any delivery failed.
func runNotifyTest(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "notify test")
	file := fs.String("f", defaultSpec, "read the channels from the spec in `SPEC`; - reads it from standard input")
	lf := addLogFlags(fs, zerolog.WarnLevel)
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
				advice := "the spec's channels are " + flagvalue.OrList(all)
				if best := suggest.Closest(name, all); best != "" {
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
	var failed cli.Failures
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
