package cli

import (
	"slices"
	"testing"

	"github.com/patwatch/patwatch/internal/completion"
)

// TestCompletion: the model holds the table (help last among the
// top-level commands), each command's flags with what their values are,
// and the words of a positional choice.
func TestCompletion(t *testing.T) {
	m := testApp().Completion()
	var top []string
	for _, e := range m.Top {
		top = append(top, e.Name)
	}
	if !slices.Equal(top, []string{"show", "state", "completion", "help"}) {
		t.Errorf("top: %v", top)
	}
	if len(m.Groups) != 1 || m.Groups[0].Name != "state" || len(m.Groups[0].Subs) != 2 || !slices.Equal(m.Groups[0].Subs[1].Path, []string{"state", "push"}) {
		t.Errorf("groups: %+v", m.Groups)
	}
	cmds := map[string]completion.Command{}
	for _, c := range m.Commands {
		cmds[c.Path[len(c.Path)-1]] = c
	}
	if len(m.Commands) != 4 {
		t.Errorf("%d commands, want 4: %+v", len(m.Commands), m.Commands)
	}
	if got := cmds["completion"]; !slices.Equal(got.Words, []string{"bash", "zsh", "fish"}) || got.Flags[0].Value != completion.File {
		t.Errorf("completion: %+v", got)
	}
	if got := cmds["push"]; got.Words != nil || len(got.Flags) != 1 || got.Flags[0].Value != completion.None {
		t.Errorf("state push: %+v", got)
	}
	want := []completion.Flag{
		{Name: "f", Usage: "read the SPEC", Value: completion.File},
		{Name: "format", Usage: "output format", Value: completion.Choice, Choices: []string{"text", "json"}},
		{Name: "out", Usage: "write to DIR", Value: completion.Dir},
	}
	got := cmds["show"].Flags
	if len(got) != len(want) {
		t.Fatalf("show's flags: %+v", got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Usage != want[i].Usage || got[i].Value != want[i].Value || !slices.Equal(got[i].Choices, want[i].Choices) {
			t.Errorf("show's flag %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
