package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// countingWriter counts the writes made to it.
type countingWriter struct {
	writes, bytes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	w.bytes += len(p)
	return len(p), nil
}

// TestShowWritesInLargeBlocks: show's text output goes out in blocks, not
// cell by cell (issue 11.4: on a large state the write calls were half of
// show's time).
func TestShowWritesInLargeBlocks(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(`{"format_version":1,"serial":1,"lineage":"l","searches":{"s":{"fingerprint":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","baseline_at":"2026-01-01T00:00:00Z","hits":{`)
	for i := range 3000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"CN%07dS":{"first_seen":"2026-01-01T00:00:00Z","title":"Hit %d","current_assignee":"ACME"}`, i, i)
	}
	b.WriteString(`}}},"reports":{}}`)
	path := filepath.Join(dir, "patwatch.state.json")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out countingWriter
	var stderr strings.Builder
	code := run(context.Background(), []string{"show", "--state", path}, func(string) string { return "" }, strings.NewReader(""), &out, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if max := out.bytes/(32<<10) + 2; out.writes > max {
		t.Errorf("%d writes for %d bytes, want at most %d", out.writes, out.bytes, max)
	}
}
