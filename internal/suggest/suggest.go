// Package suggest finds the name a user probably meant: the "did you mean"
// of spec fields and values, entry names, commands, flags and channel
// schemes.
package suggest

import "strings"

// Closest returns the candidate closest to name, at most two edits away
// (Levenshtein distance, case ignored), or "" when none is that close. Of
// candidates equally close, the first in lexical order wins, so that the
// answer does not depend on the candidates' order.
func Closest(name string, candidates []string) string {
	best, bestD := "", 3
	name = strings.ToLower(name)
	for _, c := range candidates {
		if d := distance(name, strings.ToLower(c)); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, by runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
