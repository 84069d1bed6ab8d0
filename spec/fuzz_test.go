package spec

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse holds the loader to its promise: any input gives a spec or an
// *Error whose problems are located, never a panic, and quickly.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"version: 1\n",
		"version: .nan\n",
		"version: 1\napi: {qps: -.inf}\n",
		"version: 1\ninterval: 2024-01-01\n",
		"1: x\n~: y\n[a]: z\n",
		"version: 1\n---\nversion: 1\n",
		"version: 1\nversion: 1\n",
		"version: !!binary aGk=\n",
		"version: 1\nsearches:\n\t- name: x\n",
		"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
		"a: &a\n  b: *a\n",
		"base: &b {name: x}\nsearches: [{<<: *b, <<: [*b, *b]}]\n",
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		strings.Repeat("- ", 2000) + "x\n",
		strings.Repeat("{a: ", 1000) + "1" + strings.Repeat("}", 1000),
		"\x00\x01\x02\xff\xfe binary",
		"\xef\xbb\xbfversion: 1\n",
		"version: 1\nsearches:\n  - name: " + strings.Repeat("x", 100000) + "\n",
		"version: 1\nsearches: [{name: a, image: /dev/zero, patent_type: D, model: 1}]\n",
		"version: 1\nsearches: [{name: a, images: [., ..], patent_type: U, model: 3, filters: {apply_start_time: \"20230229\", apply_end_time: \"00000000\"}}]\n",
		"version: 1\nreports: [{name: r, patent_number: USD0912345S1, patent_id: x}]\n",
		"version: 1\napi: {base_url: \"http://[::1\"}\n",
		"version: 99999999999999999999999\n",
		"version: 1e400\n",
		"version: !!float nan\n",
		"%YAML 1.1\n---\nversion: 1\n",
		"? [a, b]\n: c\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil {
			if s == nil || s.Version != 1 {
				t.Fatalf("no error but spec %+v", s)
			}
			return
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("Parse returned %T %v, want *Error", err, err)
		}
		if len(se.Problems) == 0 {
			t.Fatal("*Error without problems")
		}
		for _, p := range se.Problems {
			if p.File != "fuzz.yaml" || p.Line < 1 || p.Col < 1 || p.Msg == "" {
				t.Fatalf("badly located problem %+v", p)
			}
		}
	})
}
