package completion

import (
	"strings"
	"testing"
)

// TestWrite: each shell's script offers the commands, the flags and a
// flag's choices; an unknown shell is refused. The full scripts are golden
// files of cmd/patwatch.
func TestWrite(t *testing.T) {
	show := Command{Path: []string{"show"}, Summary: "print the state", Flags: []Flag{
		{Name: "format", Usage: "output format", Value: Choice, Choices: []string{"text", "json"}},
		{Name: "out", Usage: "write to FILE", Value: File},
		{Name: "force", Usage: "replace it", Value: None},
	}}
	m := Model{Top: []Entry{{Name: "show", Summary: "print the state"}}, Commands: []Command{show}}
	for _, sh := range Shells {
		var b strings.Builder
		if err := Write(&b, sh, m); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"show", "format", "text json", "out", "force"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: the script lacks %q:\n%s", sh, want, b.String())
			}
		}
	}
	if err := Write(&strings.Builder{}, "powershell", m); err == nil || !strings.Contains(err.Error(), `"powershell"`) {
		t.Errorf("an unknown shell: %v", err)
	}
}
