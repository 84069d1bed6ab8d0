package main

import (
	"context"
	"fmt"

	"github.com/patwatch/patwatch/internal/completion"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
)

// runCompletion implements 'patwatch completion SHELL': a completion script
// generated from the command table and the flags each command registers.
func runCompletion(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "completion")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return hint.Wrap(fmt.Errorf("completion takes one shell: %s", flagvalue.OrList(completion.Shells)), "for example: source <(patwatch completion bash)")
	}
	if err := completion.Write(e.stdout, pos[0], app().Completion()); err != nil {
		advice := "use " + flagvalue.OrList(completion.Shells)
		if pos[0] == "sh" || pos[0] == "ksh" {
			advice = "bash's script may work in ksh93; otherwise use " + flagvalue.OrList(completion.Shells)
		}
		return hint.Wrap(err, advice)
	}
	return nil
}
