package notify

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestWrapLines: no line of an e-mail passes the limit, and what a reader
// sees is unchanged: breaks replace spaces, go inside base64 (which URL
// parsing and base64 decoding ignore), and split a long word only between
// two characters.
func TestWrapLines(t *testing.T) {
	img := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\x89PNG drawing bytes ", 200)))
	tests := []struct {
		name string
		in   string
		// same says how the output must read as the input did.
		same func(in, out string) bool
	}{
		{"short lines stay", "a\nb c\n", func(in, out string) bool { return in == out }},
		{"words", strings.Repeat("Mobile phone ", 300) + "\nend\n", func(in, out string) bool {
			return strings.ReplaceAll(out, "\n", " ") == strings.ReplaceAll(in, "\n", " ")
		}},
		{"a data: URL", `<img src="data:image/png;base64,` + img + `" alt="drawing">`, func(in, out string) bool {
			return strings.ReplaceAll(out, "\n", "") == in
		}},
		{"a long word with no space", strings.Repeat("相机镜头", 200), func(in, out string) bool {
			return strings.ReplaceAll(out, "\n", "") == in && utf8.ValidString(out)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := wrapLines(tt.in, MaxLine)
			for i, line := range strings.Split(out, "\n") {
				if len(line) > MaxLine {
					t.Errorf("line %d is %d bytes, more than %d", i+1, len(line), MaxLine)
				}
			}
			if !tt.same(tt.in, out) {
				t.Errorf("the text changed:\n%.300s", out)
			}
		})
	}
}
