package spec

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
)

// Problem is one thing wrong with a spec, located in its file.
type Problem struct {
	File string // the spec's path as the caller gave it
	Line int    // 1-based
	Col  int    // 1-based
	Path string // the field, e.g. searches[1].filters.apply_start_time; empty for the whole spec
	Msg  string
	Hint string // what to do about it; may be empty
}

// String formats the problem as FILE:LINE:COL: path: message, leaving out
// the path when the problem concerns the whole spec.
func (p Problem) String() string {
	if p.Path == "" {
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", p.File, p.Line, p.Col, p.Path, p.Msg)
}

// Error is an invalid spec: every problem found in it, sorted by position.
// Callers that print problems one by one (with their hints) take them from
// Problems; Error() holds them all, one per line, without hints.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by position, then path, then message, and
// drops exact repeats, so the same spec yields the same bytes every run.
func sortProblems(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Msg != b.Msg {
			return a.Msg < b.Msg
		}
		return a.Hint < b.Hint
	})
	out := ps[:0]
	for _, p := range ps {
		if len(out) > 0 && p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// ProblemsOf is the problems of err, an error of loading or checking the
// spec file: an *Error's, or err itself as one problem with no place (a
// file that could not be read) and its first hint; none for nil.
func ProblemsOf(file string, err error) []Problem {
	var se *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se.Problems
	}
	p := Problem{File: file, Msg: err.Error()}
	if hints := hint.Of(err); len(hints) > 0 {
		p.Hint = hints[0]
	}
	return []Problem{p}
}
