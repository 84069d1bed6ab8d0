package report

import "github.com/patwatch/patwatch/internal/atomicfile"

// WriteFile replaces the file at path with data, a rendered report or page,
// in one step: a reader (a browser reloading the page watch rewrites after
// every run, a script) sees the last one or this one, never part of either.
func WriteFile(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}
