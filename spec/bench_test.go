package spec

import (
	"os"
	"testing"
)

func BenchmarkParseExample(b *testing.B) {
	data, err := os.ReadFile("../examples/competitive-monitoring.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse("../examples/competitive-monitoring.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// misIndented is a spec of about size bytes whose last key is indented
// less than its siblings: yaml.v3's error names the first search's line.
func misIndented(size int) []byte {
	var b []byte
	b = append(b, "version: 1\nsearches:\n"...)
	for len(b) < size-100 {
		b = append(b, "  - name: a\n    image: https://x.com/a.png\n    patent_type: D\n    model: 1\n"...)
	}
	return append(b, "   max_results: 5\n"...)
}

// BenchmarkYAMLError compares the parse of a mis-indented spec of
// offendingLineMax bytes with the search for the offending token's line
// that the error then gets (see offendingLine).
func BenchmarkYAMLError(b *testing.B) {
	data := misIndented(offendingLineMax)
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if parseMessage(data) == "" {
				b.Fatal("no error")
			}
		}
	})
	b.Run("offending-line", func(b *testing.B) {
		msg := parseMessage(data)
		for b.Loop() {
			if _, ok := offendingLine(data, msg); !ok {
				b.Fatal("not found")
			}
		}
	})
}
