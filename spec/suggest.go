package spec

import "strings"

// Suggest returns the candidate closest to name (at most two edits away,
// case ignored), or "" when none is close: the "did you mean …" of spec
// fields, entry names, commands and flags.
func Suggest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}
