package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/patwatch/patwatch/spec"
)

// ValidationFormatVersion is the version of validate's JSON shape.
const ValidationFormatVersion = "1"

// problemJSON is one problem in validate's JSON.
type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`   // 1-based; 0 when the problem has no place (the file could not be read)
	Column  int    `json:"column"` // likewise
	Path    string `json:"path"`   // the field, e.g. searches[1].model; empty for the whole file
	Message string `json:"message"`
	Hint    string `json:"hint"`
}

// RenderValidation writes what validate found as one JSON object:
// {"format_version": "1", "valid": bool, "problems": [{"file", "line",
// "column", "path", "message", "hint"}]}. The spec is valid when there is
// no problem.
func RenderValidation(w io.Writer, problems []spec.Problem) error {
	doc := struct {
		FormatVersion string        `json:"format_version"`
		Valid         bool          `json:"valid"`
		Problems      []problemJSON `json:"problems"`
	}{ValidationFormatVersion, len(problems) == 0, []problemJSON{}}
	for _, p := range problems {
		doc.Problems = append(doc.Problems, problemJSON{File: p.File, Line: p.Line, Column: p.Col, Path: p.Path, Message: p.Msg, Hint: p.Hint})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
