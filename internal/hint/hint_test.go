package hint

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

type typed struct{ hint string }

func (e *typed) Error() string { return "typed" }
func (e *typed) Hint() string  { return e.hint }

func TestOf(t *testing.T) {
	base := errors.New("base")
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"none", base, nil},
		{"nil", nil, nil},
		{"one", Wrap(base, "a", "b"), []string{"a", "b"}},
		{"empty hints dropped", Wrap(base, "", "a"), []string{"a"}},
		{"outer first", Wrap(fmt.Errorf("ctx: %w", Wrap(base, "inner")), "outer"), []string{"outer", "inner"}},
		{"typed after", Wrap(fmt.Errorf("ctx: %w", &typed{"t"}), "w"), []string{"w", "t"}},
		{"typed empty", Wrap(&typed{""}, "w"), []string{"w"}},
		{"first typed only", fmt.Errorf("%w", &typed{"one"}), []string{"one"}},
	}
	for _, c := range cases {
		if got := Of(c.err); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	if Wrap(nil, "x") != nil {
		t.Error("Wrap(nil) is not nil")
	}
	if Wrap(base) != base {
		t.Error("Wrap without hints changed the error")
	}
	if w := Wrap(base, "x"); !errors.Is(w, base) || w.Error() != "base" {
		t.Errorf("Wrap: %v", w)
	}
}
