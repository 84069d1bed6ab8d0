package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/patwatch/patwatch/internal/filekind"
)

// Verdict is what an analyst decided about a patent among a search's hits.
type Verdict string

// The verdicts of a decisions file.
const (
	// VerdictNotRelevant keeps the hit recorded but never reports it new
	// or dropped, never notifies it and never orders a report for it.
	VerdictNotRelevant Verdict = "not_relevant"
	// VerdictRelevant reports the hit as usual, marked with its verdict.
	VerdictRelevant Verdict = "relevant"
	// VerdictReport orders a value report for the patent.
	VerdictReport Verdict = "report"
)

// Verdicts are the verdicts a decisions file may hold, in the schema's order.
var Verdicts = []Verdict{VerdictNotRelevant, VerdictRelevant, VerdictReport}

// Decisions is the decisions file of a spec: the analyst's triage, one
// decision per patent, kept in git beside the spec and reviewed with it.
// A nil *Decisions holds no decision.
type Decisions struct {
	// Path is the file's absolute path. The file need not exist: a missing
	// file means no decisions, and 'patwatch mark' creates it there.
	Path string
	// Name is the file as problems and messages name it: relative to the
	// spec as the command line gave it.
	Name string
	// ByPatent holds each decision by its patent_pn.
	ByPatent map[string]Decision
}

// Decision is the analyst's verdict on one patent.
type Decision struct {
	PatentPN string
	Verdict  Verdict
	Note     string
	By       string
	At       string // yyyy-mm-dd; empty when not set
	// Searches names the only searches in which the decision holds; empty:
	// every search.
	Searches []string

	Line int // where the decision starts in its file
}

// Holds reports whether d applies to the hits of the search named search.
func (d Decision) Holds(search string) bool {
	if len(d.Searches) == 0 {
		return true
	}
	for _, s := range d.Searches {
		if s == search {
			return true
		}
	}
	return false
}

// For returns the verdict on the patent pn among the hits of the search
// named search: "" when no decision holds there.
func (ds *Decisions) For(search, pn string) Verdict {
	if ds == nil {
		return ""
	}
	d, ok := ds.ByPatent[pn]
	if !ok || !d.Holds(search) {
		return ""
	}
	return d.Verdict
}

// Len is how many decisions the file holds.
func (ds *Decisions) Len() int {
	if ds == nil {
		return 0
	}
	return len(ds.ByPatent)
}

// DefaultDecisionsFile is the decisions file of the spec file named spec
// when the spec names none: patwatch.yaml's is patwatch.decisions.yaml
// beside it (likewise .yml), any other name's that name plus
// .decisions.yaml.
func DefaultDecisionsFile(spec string) string {
	for _, ext := range []string{".yaml", ".yml"} {
		if base, ok := strings.CutSuffix(spec, ext); ok && base != "" && !os.IsPathSeparator(base[len(base)-1]) {
			return base + ".decisions" + ext
		}
	}
	return spec + ".decisions.yaml"
}

// decisionsFile locates the decisions file of the spec being loaded: the
// spec's decisions field, relative to the spec, or the default. It returns
// the absolute path and the name problems give it.
func (l *loader) decisionsFile(field string) (abs, name string) {
	if field == "" {
		name = DefaultDecisionsFile(l.file)
		return filepath.Join(l.dir, filepath.Base(name)), name
	}
	if filepath.IsAbs(field) {
		return filepath.Clean(field), field
	}
	return filepath.Join(l.dir, field), filepath.Join(filepath.Dir(l.file), field)
}

// loadDecisions reads and checks the spec's decisions file, whose problems
// it returns apart from the spec's, sorted, since they are in another file.
// searches are the spec's searches, which decisions may name.
func (l *loader) loadDecisions(field string, searches []Search) (*Decisions, []Problem) {
	abs, name := l.decisionsFile(field)
	ds := &Decisions{Path: abs, Name: name, ByPatent: map[string]Decision{}}
	data, err := readDecisions(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ds, nil
	case err != nil:
		return ds, []Problem{{File: name, Line: 1, Col: 1, Msg: err.Error()}}
	}
	dl := &loader{doc: decisionsDocument, file: name, dir: filepath.Dir(abs)}
	dl.run(data, func(v any) { dl.buildDecisions(v, ds, searches) })
	return ds, sortProblems(dl.probs)
}

// readDecisions reads a decisions file; a path that is not a regular file
// is refused at once, as the spec's is.
func readDecisions(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read decisions file: %w", unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, fmt.Errorf("read decisions file: %w", err)
	case !fi.Mode().IsRegular():
		kind := filekind.Of(fi)
		if kind == "" {
			kind = "not a regular file"
		}
		return nil, fmt.Errorf("the decisions file is %s, not a YAML file", kind)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxDecisionsFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read decisions file: %w", err)
	}
	return data, nil
}

// decodeWide decodes root, whose wide mapping (see document) is decoded
// one entry at a time: yaml.v3 checks a mapping's keys for repeats in time
// quadratic in their number, and sanitize has refused repeats already.
func (l *loader) decodeWide(root *yaml.Node) (any, error) {
	if root.Kind != yaml.MappingNode {
		var v any
		return v, root.Decode(&v)
	}
	var wide *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k, v := root.Content[i], root.Content[i+1]; k.Value == l.doc.wide && v.Kind == yaml.MappingNode {
			wide = v
		}
	}
	if wide == nil {
		var v any
		return v, root.Decode(&v)
	}
	entries := wide.Content
	wide.Content = nil
	var v any
	err := root.Decode(&v)
	wide.Content = entries
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(entries)/2)
	for i := 0; i+1 < len(entries); i += 2 {
		var e any
		if err := entries[i+1].Decode(&e); err != nil {
			return nil, err
		}
		m[entries[i].Value] = e
	}
	if top, ok := v.(map[string]any); ok {
		top[l.doc.wide] = m
	}
	return v, nil
}
