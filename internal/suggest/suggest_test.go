package suggest

import "testing"

func TestClosest(t *testing.T) {
	for _, c := range []struct {
		name       string
		candidates []string
		want       string
	}{
		{"searchez", []string{"searches", "reports", "version"}, "searches"},
		{"SEARCHES", []string{"searches"}, "searches"}, // case ignored
		{"aply", []string{"apply", "plan"}, "apply"},   // one edit
		{"aplpy", []string{"apply"}, "apply"},          // two edits
		{"xyzzy", []string{"apply", "plan"}, ""},       // none close
		{"ab", []string{"ac", "aa"}, "aa"},             // a tie: the first in lexical order
		{"ab", []string{"aa", "ac"}, "aa"},             // whatever the candidates' order
		{"", []string{"a", "abcd"}, "a"},               // one edit from nothing
		{"相机", []string{"相机镜头", "相机x"}, "相机x"},         // runes, not bytes
		{"left", nil, ""},
	} {
		if got := Closest(c.name, c.candidates); got != c.want {
			t.Errorf("Closest(%q, %q) = %q, want %q", c.name, c.candidates, got, c.want)
		}
	}
}
