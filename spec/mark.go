package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/hint"
)

// Marks are decisions to write into a spec's decisions file: the same
// decision on each of Patents, or, with no Verdict, none.
type Marks struct {
	Patents []string
	// Verdict is the decision on every patent; "" removes their decisions.
	Verdict  Verdict
	Searches []string // the searches the decisions hold in; empty: every one
	Note, By string   // optional
	At       string   // yyyy-mm-dd; optional
}

// Marked is what Mark did to one patent's decision: its verdict before
// and after ("" for none).
type Marked struct {
	PatentPN string
	Was, Now Verdict
}

// decisionsHeader starts a decisions file that Mark creates.
const decisionsHeader = "# yaml-language-server: $schema=https://raw.githubusercontent.com/patwatch/patwatch/main/schema/decisions.schema.json\n" +
	"# The analyst's decisions on hits: see 'patwatch help mark'.\nversion: 1\ndecisions: {}\n"

// Mark writes m into the decisions file of s, the way a person would edit
// it: each patent's decision replaced where it is, a new one added at the
// end, a removed one gone, and every comment, every other decision and
// their order kept. It first checks every decision (CheckDecision) and
// returns the first problem with the file untouched; the edited file is
// checked as validate would before it replaces the old one, atomically. A
// missing file is created.
func (s *Spec) Mark(m Marks) ([]Marked, error) {
	if errs := s.CheckMarks(m); len(errs) > 0 {
		return nil, errs[0]
	}
	ds := s.Decisions
	data, perm, err := readForEdit(ds.Path)
	if err != nil {
		return nil, err
	}
	doc, err := parseForEdit(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ds.Name, err)
	}
	entries := decisionsNode(doc)
	var done []Marked
	for _, pn := range m.Patents {
		done = append(done, Marked{PatentPN: pn, Was: ds.ByPatent[pn].Verdict, Now: m.Verdict})
		if m.Verdict == "" {
			removeKey(entries, pn)
			continue
		}
		setDecision(entries, pn, m)
	}
	out, err := encodeEdited(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ds.Name, err)
	}
	out = keepBlankLines(data, out)
	if err := s.checkEdited(out); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(ds.Path, out, perm); err != nil {
		return nil, fmt.Errorf("write the decisions file: %w", err)
	}
	return done, nil
}

// CheckMarks returns every reason why s cannot hold m, each once, with its
// hint (see CheckDecision); nil when it can. A removal checks the numbers
// only.
func (s *Spec) CheckMarks(m Marks) []error {
	if len(m.Patents) == 0 {
		return []error{hint.Wrap(errors.New("no patent number given"),
			"name one or more, as the change report gives them: patwatch mark CN305104902S --as not_relevant")}
	}
	var errs []error
	seen := map[string]bool{}
	for _, pn := range m.Patents {
		d := Decision{PatentPN: pn, Verdict: m.Verdict, Searches: m.Searches}
		if m.Verdict == "" {
			d.Verdict, d.Searches = VerdictRelevant, nil
		}
		for _, err := range s.CheckDecision(d) {
			if !seen[err.Error()] {
				seen[err.Error()] = true
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// String says what Mark did to the patent's decision, in a line.
func (d Marked) String() string {
	switch {
	case d.Now == "" && d.Was == "":
		return d.PatentPN + ": had no decision"
	case d.Now == "":
		return fmt.Sprintf("%s: decision removed (was %s)", d.PatentPN, d.Was)
	case d.Was == "":
		return fmt.Sprintf("%s: %s", d.PatentPN, d.Now)
	}
	return fmt.Sprintf("%s: %s (was %s)", d.PatentPN, d.Now, d.Was)
}

// readForEdit reads the decisions file and its permissions; a missing file
// is a new one's start.
func readForEdit(path string) ([]byte, fs.FileMode, error) {
	data, err := readDecisions(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []byte(decisionsHeader), 0o644, nil
	}
	if err != nil {
		return nil, 0, err
	}
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	return data, perm, nil
}

// parseForEdit parses a decisions file into the node tree Mark edits. The
// file was loaded with the spec, so it is one valid document.
func parseForEdit(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a mapping of version and decisions")
	}
	return &doc, nil
}

// decisionsNode is the mapping under the top-level decisions field, made
// (in block style, at the end) when there is none or it is empty.
func decisionsNode(doc *yaml.Node) *yaml.Node {
	top := doc.Content[0]
	if _, v := lookupKey(top, "decisions"); v != nil {
		if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
			*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
		}
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	top.Content = append(top.Content, scalar("decisions"), v)
	return v
}

// lookupKey returns the key and value nodes of name in the mapping m.
func lookupKey(m *yaml.Node, name string) (key, val *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// removeKey removes name from the mapping m. The comment above it goes
// with it; one below the last entry (the mapping's end) stays.
func removeKey(m *yaml.Node, name string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			m.Content = slices.Delete(m.Content, i, i+2)
			return
		}
	}
}

// setDecision replaces pn's decision in entries by m's, in place (the
// comments on its fields that stay are kept), or adds it at the end.
func setDecision(entries *yaml.Node, pn string, m Marks) {
	k, v := lookupKey(entries, pn)
	if v == nil {
		k, v = scalar(pn), &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		entries.Content = append(entries.Content, k, v)
	}
	if v.Style&yaml.FlowStyle != 0 {
		// A decision grown to several fields reads best in block style,
		// with the comment that followed it on its key's line.
		v.Style &^= yaml.FlowStyle
		if k.LineComment == "" {
			k.LineComment, v.LineComment = v.LineComment, ""
		}
	}
	setField(v, "verdict", scalarOrNil(string(m.Verdict)))
	setField(v, "note", scalarOrNil(m.Note))
	setField(v, "by", scalarOrNil(m.By))
	at := scalarOrNil(m.At)
	if at != nil {
		at.Tag = "!!timestamp" // written plain, as a person writes a date; read back as text
	}
	setField(v, "at", at)
	var searches *yaml.Node
	if len(m.Searches) > 0 {
		searches = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, s := range m.Searches {
			searches.Content = append(searches.Content, scalar(s))
		}
	}
	setField(v, "searches", searches)
}

// setField sets the field name of the mapping m to val, keeping the
// comments of a field already there; a nil val removes the field.
func setField(m *yaml.Node, name string, val *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != name {
			continue
		}
		if val == nil {
			m.Content = slices.Delete(m.Content, i, i+2)
			return
		}
		old := m.Content[i+1]
		val.HeadComment, val.LineComment, val.FootComment = old.HeadComment, old.LineComment, old.FootComment
		m.Content[i+1] = val
		return
	}
	if val != nil {
		m.Content = append(m.Content, scalar(name), val)
	}
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func scalarOrNil(s string) *yaml.Node {
	if s == "" {
		return nil
	}
	return scalar(s)
}

// encodeEdited writes the edited tree with the two-space indentation of
// patwatch's files. An emptied decisions mapping is written {}.
func encodeEdited(doc *yaml.Node) ([]byte, error) {
	if _, v := lookupKey(doc.Content[0], "decisions"); v != nil && len(v.Content) == 0 {
		v.Style |= yaml.FlowStyle
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkEdited loads the edited file as validate would, so that Mark never
// writes a file that the next run refuses.
func (s *Spec) checkEdited(data []byte) error {
	dl := &loader{doc: decisionsDocument, file: s.Decisions.Name, dir: s.Dir}
	dl.run(data, func(v any) { dl.buildDecisions(v, &Decisions{ByPatent: map[string]Decision{}}, s.Searches) })
	if len(dl.probs) == 0 {
		return nil
	}
	var lines []string
	for _, p := range sortProblems(dl.probs) {
		lines = append(lines, p.String())
	}
	return hint.Wrap(fmt.Errorf("the edited decisions file would not be valid; it was left as it was:\n%s", strings.Join(lines, "\n")),
		"this is a patwatch bug: please report it with the decisions file")
}

// keepBlankLines puts back into out the blank lines of the file before,
// which yaml.v3 does not keep: a blank line goes again before the line it
// preceded, known by its anchor (see blankAnchor), when that anchor is the
// only one of its kind in the file (a decision's number, a comment), so
// that none lands elsewhere.
func keepBlankLines(before, out []byte) []byte {
	lines := strings.Split(string(before), "\n")
	seen := map[string]int{}
	for _, l := range lines {
		seen[blankAnchor(l)]++
	}
	after := map[string]bool{} // anchors of lines a blank line preceded
	for i := 1; i < len(lines); i++ {
		a := blankAnchor(lines[i])
		if a != "" && strings.TrimSpace(lines[i-1]) == "" && seen[a] == 1 {
			after[a] = true
		}
	}
	if len(after) == 0 {
		return out
	}
	var b strings.Builder
	for i, l := range strings.Split(string(out), "\n") {
		if i > 0 {
			if a := blankAnchor(l); after[a] {
				b.WriteString("\n")
				delete(after, a)
			}
			b.WriteString("\n")
		}
		b.WriteString(l)
	}
	return []byte(b.String())
}

// blankAnchor is what tells a line apart for keepBlankLines: a comment
// line whole, a mapping key's line up to its colon (its value may have
// been edited), any other line whole; "" for a blank line.
func blankAnchor(line string) string {
	line = strings.TrimRight(line, " \t")
	body := strings.TrimLeft(line, " ")
	if body == "" || strings.HasPrefix(body, "#") {
		return line
	}
	if i := strings.Index(line, ":"); i > 0 && (i == len(line)-1 || line[i+1] == ' ') {
		return line[:i+1]
	}
	return line
}
