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
