package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/schema"
)

// Format returns the spec in data in canonical form (patwatch fmt):
// two-space indentation, each mapping's keys in the schema's order (a
// merge key << first, then x- extension keys, which hold the anchors
// others refer to, then the schema's keys, then any other key where it
// was), comments kept, a blank line kept where there was one (runs of
// them made one). The meaning is unchanged: Format checks that the result
// decodes to the same data as data, with the same comments, and refuses
// otherwise. It needs a YAML document, not a valid spec: a spec with
// problems is formatted all the same.
func Format(data []byte) ([]byte, error) {
	return formatYAML(data, specShape())
}

// FormatDecisions is Format for a decisions file, its keys in the
// decisions file's schema's order.
func FormatDecisions(data []byte) ([]byte, error) {
	return formatYAML(data, decisionsShape())
}

// Formatted is a file of a spec and its canonical form (see FormatFiles).
type Formatted struct {
	Path          string
	Before, After []byte
}

// Changed reports whether the file is not in canonical form.
func (f Formatted) Changed() bool { return !bytes.Equal(f.Before, f.After) }

// FormatFiles reads the spec file at path, and its decisions file when
// there is one (the spec's decisions field, else DefaultDecisionsFile),
// and returns each with its canonical form (Format, FormatDecisions). It
// writes nothing: Rewrite does.
func FormatFiles(path string) ([]Formatted, error) {
	spec := Formatted{Path: path}
	var err error
	if spec.Before, err = os.ReadFile(path); err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	if spec.After, err = Format(spec.Before); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	files := []Formatted{spec}
	d := Formatted{Path: decisionsFileOf(path, spec.Before)}
	if d.Before, err = os.ReadFile(d.Path); errors.Is(err, fs.ErrNotExist) {
		return files, nil
	} else if err != nil {
		return nil, fmt.Errorf("read decisions file: %w", err)
	}
	if d.After, err = FormatDecisions(d.Before); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Path, err)
	}
	return append(files, d), nil
}

// decisionsFileOf is where the decisions file of the spec at path, whose
// bytes are data, is: its decisions field, relative to the spec, else
// the default beside it.
func decisionsFileOf(path string, data []byte) string {
	var doc struct {
		Decisions string `yaml:"decisions"`
	}
	if yaml.Unmarshal(data, &doc) != nil || doc.Decisions == "" {
		return filepath.Join(filepath.Dir(path), filepath.Base(DefaultDecisionsFile(path)))
	}
	if filepath.IsAbs(doc.Decisions) {
		return doc.Decisions
	}
	return filepath.Join(filepath.Dir(path), doc.Decisions)
}

// Rewrite replaces the file at path with data (a formatted spec or
// decisions file) atomically, keeping the file's mode.
func Rewrite(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}

// formatYAML is Format of a document whose keys are ordered by sh.
func formatYAML(data []byte, sh *shape) ([]byte, error) {
	doc, err := oneDocument(data)
	if err != nil {
		return nil, err
	}
	if doc == nil { // empty, or only comments
		return data, nil
	}
	blanks := map[string]bool{}
	markBlanks(doc, "", bytes.Split(data, []byte("\n")), blanks)
	first := firstKey(doc)
	reorder(doc, sh)
	keepHeader(doc, first)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("fmt: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("fmt: %w", err)
	}
	out, err := restoreBlanks(buf.Bytes(), blanks)
	if err != nil {
		return nil, err
	}
	if err := sameMeaning(data, out); err != nil {
		return nil, err
	}
	return out, nil
}

// oneDocument parses data as one YAML document; nil when it holds none.
func oneDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("fmt: not valid YAML: %w", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("fmt: the file holds more than one YAML document; a spec is one")
	}
	var v any
	if err := doc.Decode(&v); err != nil { // a duplicate key, say: no meaning to keep
		return nil, fmt.Errorf("fmt: not valid YAML: %w", err)
	}
	return &doc, nil
}

// keepHeader keeps the comment at the top of the file there, which the
// parser gives to the first key (before is it, from before reorder): the
// key first now takes it.
func keepHeader(doc, before *yaml.Node) {
	if before == nil || doc.Content[0].Content[0] == before || before.HeadComment == "" {
		return
	}
	first := doc.Content[0].Content[0]
	first.HeadComment = strings.TrimSuffix(before.HeadComment+"\n"+first.HeadComment, "\n")
	before.HeadComment = ""
}

// firstKey is the first key of doc's top mapping, nil when there is none.
func firstKey(doc *yaml.Node) *yaml.Node {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) == 0 {
		return nil
	}
	return doc.Content[0].Content[0]
}

// shape is what a schema says of a value's layout: the order of an
// object's properties and the shapes of its values and items.
type shape struct {
	keys  []string          // properties, in the schema's order
	props map[string]*shape // by property
	other *shape            // the values of keys not among props (patternProperties, additionalProperties)
	items *shape            // an array's items
}

func (s *shape) prop(key string) *shape {
	if s == nil {
		return nil
	}
	if p, ok := s.props[key]; ok {
		return p
	}
	return s.other
}

// reorder puts the keys of every mapping below n in sh's order.
func reorder(n *yaml.Node, sh *shape) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			reorder(c, sh)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			reorder(c, sh.itemShape())
		}
	case yaml.MappingNode:
		pairs := make([][2]*yaml.Node, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			pairs = append(pairs, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
		}
		slices.SortStableFunc(pairs, func(a, b [2]*yaml.Node) int { return keyRank(sh, a[0].Value) - keyRank(sh, b[0].Value) })
		n.Content = n.Content[:0]
		for _, p := range pairs {
			n.Content = append(n.Content, p[0], p[1])
			reorder(p[1], sh.prop(p[0].Value))
		}
	}
}

func (s *shape) itemShape() *shape {
	if s == nil {
		return nil
	}
	return s.items
}

// keyRank orders a mapping's keys: <<, x- keys, the schema's keys in
// order, the rest.
func keyRank(sh *shape, key string) int {
	switch {
	case key == "<<":
		return -2
	case strings.HasPrefix(key, "x-"):
		return -1
	}
	if sh != nil {
		if i := slices.Index(sh.keys, key); i >= 0 {
			return i
		}
		return len(sh.keys)
	}
	return 0
}

// markBlanks records, by the path of each mapping entry and sequence item
// below n, those preceded by a blank line in lines (the source), above
// their comment.
func markBlanks(n *yaml.Node, path string, lines [][]byte, blanks map[string]bool) {
	mark := func(p string, at *yaml.Node) {
		if first := at.Line - commentLines(at.HeadComment); first >= 2 && len(bytes.TrimSpace(lines[first-2])) == 0 {
			blanks[p] = true
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			markBlanks(c, path, lines, blanks)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			mark(p, c)
			markBlanks(c, p, lines, blanks)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := path + "." + n.Content[i].Value
			mark(p, n.Content[i])
			markBlanks(n.Content[i+1], p, lines, blanks)
		}
	}
}

// commentLines is how many lines the comment c takes.
func commentLines(c string) int {
	if c == "" {
		return 0
	}
	return strings.Count(c, "\n") + 1
}

// restoreBlanks puts a blank line before each entry of out recorded in
// blanks (the encoder keeps none).
func restoreBlanks(out []byte, blanks map[string]bool) ([]byte, error) {
	if len(blanks) == 0 {
		return out, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("fmt: %w", err)
	}
	before := map[int]bool{} // 1-based lines to put a blank line before
	var walk func(n *yaml.Node, path string)
	mark := func(p string, at *yaml.Node) {
		if blanks[p] {
			before[at.Line-commentLines(at.HeadComment)] = true
		}
	}
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				mark(p, c)
				walk(c, p)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := path + "." + n.Content[i].Value
				mark(p, n.Content[i])
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(&doc, "")
	var b bytes.Buffer
	prevBlank := true // no blank line at the top
	for i, line := range bytes.SplitAfter(out, []byte("\n")) {
		if before[i+1] && !prevBlank {
			b.WriteByte('\n')
		}
		b.Write(line)
		prevBlank = len(bytes.TrimSpace(line)) == 0
	}
	return b.Bytes(), nil
}

// sameMeaning refuses a formatted out that does not decode to what in
// does, or lost a comment: Format must never change a spec.
func sameMeaning(in, out []byte) error {
	var a, b any
	errA, errB := yaml.Unmarshal(in, &a), yaml.Unmarshal(out, &b)
	// Compared as YAML again, which orders maps and writes a NaN as .nan
	// (equal to itself there, unlike in reflect.DeepEqual).
	ya, errC := yaml.Marshal(a)
	yb, errD := yaml.Marshal(b)
	if errors.Join(errA, errB, errC, errD) != nil || !bytes.Equal(ya, yb) {
		return errors.New("fmt: the canonical form would change the file's meaning, so it was left as it is; please report this")
	}
	if !slices.Equal(comments(in), comments(out)) {
		return errors.New("fmt: the canonical form would lose a comment, so the file was left as it is; please report this")
	}
	return nil
}

// comments is the text of every comment of the YAML document in data,
// sorted: fmt may move one with the key it belongs to, never drop one.
func comments(data []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
			for _, line := range strings.Split(c, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					out = append(out, line)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	slices.Sort(out)
	return out
}

// specShape is the spec schema's layout (see shape).
func specShape() *shape { return mustShape(schema.JSON()) }

// decisionsShape is the decisions file schema's layout.
func decisionsShape() *shape { return mustShape(schema.DecisionsJSON()) }

func mustShape(doc []byte) *shape {
	sh, err := schemaShape(doc)
	if err != nil {
		panic("spec: an embedded schema: " + err.Error()) // a build that cannot read its own schema
	}
	return sh
}
