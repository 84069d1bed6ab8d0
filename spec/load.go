package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/patwatch/patwatch/internal/filekind"
	"github.com/patwatch/patwatch/internal/hint"
)

// MaxFileSize is the largest spec file patwatch reads, in bytes. A larger
// file is refused with a located error instead of being read whole.
const MaxFileSize = 1 << 20

// Load reads the spec file at path and parses it with Parse. A file that
// cannot be read is an ordinary error wrapping the *fs.PathError; a file
// that is not a valid spec is an *Error. A path that is not a regular file
// (a directory, a named pipe, a device) is refused at once: reading a pipe
// would wait for a writer forever.
func Load(path string) (*Spec, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, fmt.Errorf("read spec: %w", err)
	case !fi.Mode().IsRegular():
		kind := filekind.Of(fi)
		if kind == "" {
			kind = "not a regular file"
		}
		err := fmt.Errorf("read spec: %s is %s, not a YAML file", path, kind)
		if fi.IsDir() {
			return nil, err
		}
		return nil, hint.Wrap(err, "to read the spec from a pipe, give it on standard input: -f -")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates the spec in data. path names the spec in
// problems exactly as given, and its directory (made absolute) is where
// relative image paths and the decisions file are looked up. Every problem
// found, in the spec and in its decisions file, is returned at once as an
// *Error (the spec's first); Parse never panics, whatever the input.
func Parse(path string, data []byte) (*Spec, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = filepath.Clean(path)
	}
	l := &loader{file: path, dir: filepath.Dir(abs), doc: specDocument}
	s := l.load(data)
	var more []Problem // the decisions file's
	if s != nil {
		s.Decisions, more = l.loadDecisions(l.decisionsField, s.Searches)
	}
	if len(l.probs) > 0 || len(more) > 0 {
		return nil, &Error{Problems: append(sortProblems(l.probs), more...)}
	}
	s.Path = abs
	s.Dir = l.dir
	s.SHA256 = digest(data)
	return s, nil
}

// loader collects the problems of one spec as the pipeline runs.
type loader struct {
	doc  *document
	file string
	dir  string
	// decisionsField is the spec's decisions field, once built.
	decisionsField string
	// outsideImages is the spec's allow_outside_images: local images may
	// lie outside dir.
	outsideImages bool
	root          *yaml.Node // the document's top node, once parsed
	probs         []Problem
	// suppress holds the paths of values sanitize reported and cut out.
	suppress []string
	// keys indexes each mapping node's keys, built as problems are located.
	keys map[*yaml.Node]map[string]int
}

// addAt records a problem at an explicit position.
func (l *loader) addAt(line, col int, path, msg, hint string) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	l.probs = append(l.probs, Problem{File: l.file, Line: line, Col: col, Path: path, Msg: msg, Hint: hint})
}

// addNode records a problem at n's position.
func (l *loader) addNode(n *yaml.Node, path, msg, hint string) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.addAt(line, col, path, msg, hint)
}

// add records a problem about the field at ptr, located at its value, or at
// the closest enclosing node when the field is missing.
func (l *loader) add(ptr []string, msg, hint string) {
	val, _, _ := l.resolve(ptr)
	l.addNode(val, l.renderPath(ptr), msg, hint)
}

// addKey is add, located at the field's key instead of its value.
func (l *loader) addKey(ptr []string, msg, hint string) {
	val, key, _ := l.resolve(ptr)
	if key != nil {
		val = key
	}
	l.addNode(val, l.renderPath(ptr), msg, hint)
}

// load runs the pipeline on a spec; it returns nil once a stage has found
// problems that make the next stage meaningless.
func (l *loader) load(data []byte) *Spec {
	var s *Spec
	l.run(data, func(v any) { s = l.build(v) })
	return s
}

// run runs the pipeline's stages on data and, if they get that far, build
// on the validated value; what build finds in values sanitize cut out is
// not reported again.
func (l *loader) run(data []byte, build func(v any)) {
	if len(data) > l.doc.maxSize {
		l.addAt(1, 1, "", l.doc.tooLarge, l.doc.tooLargeHint)
		return
	}
	if !l.checkText(data) {
		return
	}
	root, ok := l.parseYAML(data)
	if !ok {
		return
	}
	l.root = root
	if !l.checkExpansion(root) {
		return
	}
	if l.sanitize(root, nil) {
		return
	}
	early := len(l.probs)
	defer func() {
		// Drop what later stages found in values sanitize cut out.
		kept := l.probs[:early]
		for _, p := range l.probs[early:] {
			if !l.suppressed(p.Path) {
				kept = append(kept, p)
			}
		}
		l.probs = kept
	}()
	v, ok := l.decode(root)
	if !ok {
		return
	}
	l.validateSchema(v)
	build(v)
}

// checkText refuses bytes that are not UTF-8 text, pointing at the first bad
// one; binary garbage stops here with a position instead of a vague parser
// message.
func (l *loader) checkText(data []byte) bool {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			l.addAt(line, col, "", fmt.Sprintf("byte 0x%02x is not UTF-8 text", data[i]), "a "+l.doc.noun+" is a UTF-8 YAML text file")
			return false
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r' || r == 0xFEFF && i == 0:
		case r < 0x20 || r == 0x7f:
			l.addAt(line, col, "", fmt.Sprintf("control character %U is not allowed in a %s", r, l.doc.noun), "a "+l.doc.noun+" is a UTF-8 YAML text file")
			return false
		}
		i += size
		col++
	}
	return true
}

// parseYAML parses exactly one YAML document into a node tree.
func (l *loader) parseYAML(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			// yaml.v3 has panicked on crafted input before (CVE-2022-28948);
			// a parser bug must not take the program down.
			l.addAt(1, 1, "", fmt.Sprintf("invalid YAML: parser failed: %v", r), "")
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.addAt(1, 1, "", l.doc.noun+" is empty", l.doc.emptyHint)
		} else {
			l.yamlError(err, data, nil)
		}
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.yamlError(err, data, nil)
		return nil, false
	default:
		line := next.Line
		if len(next.Content) > 0 {
			line = next.Content[0].Line
		}
		l.addAt(line, 1, "", l.doc.noun+" must be a single YAML document; a second one starts here", l.doc.splitHint)
		return nil, false
	}
	if len(doc.Content) != 1 {
		l.addAt(1, 1, "", l.doc.noun+" is empty", l.doc.emptyHint)
		return nil, false
	}
	root = doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		l.addNode(root, "", l.doc.noun+" is empty", l.doc.emptyHint)
		return nil, false
	}
	return root, true
}

var yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlError records a parse or decode error from yaml.v3, which gives a line
// (in its message text) but no column.
func (l *loader) yamlError(err error, data []byte, root *yaml.Node) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for _, m := range msgs {
		m = strings.TrimSpace(m)
		whole := m
		line := 0
		if sub := yamlLineRE.FindStringSubmatch(m); sub != nil {
			line, _ = strconv.Atoi(sub[1])
			m = sub[2]
		}
		if parserProblems[m] {
			// yaml.v3 prints the parser's 0-based context line (and
			// nothing for line 0), but the scanner's 1-based one.
			line++
		}
		hint := ""
		switch {
		case strings.Contains(m, "excessive aliasing"):
			m = "YAML aliases expand too much (document contains excessive aliasing)"
			hint = "write the values out instead of repeating them through anchors and aliases"
			if a := firstAlias(root); a != nil && line == 0 {
				l.addAt(a.Line, a.Column, "", m, hint)
				continue
			}
		case strings.Contains(m, "tab character") || strings.Contains(m, "cannot start any token"):
			// yaml.v3 gives the line of the enclosing construct; point at
			// the indenting tab itself when there is one.
			if tl, tc, ok := findIndentTab(data, line); ok {
				l.addAt(tl, tc, "", "invalid YAML: "+m, "indent YAML with spaces, not tabs")
				continue
			}
		case m == "found incompatible YAML document":
			hint = "remove the %YAML directive: patwatch reads YAML 1.2 without one"
		case strings.Contains(m, "already defined"):
			hint = "each field may appear once per mapping"
		}
		col := 1
		if data != nil && line > 0 && len(data) <= offendingLineMax {
			// yaml.v3 names the line where the enclosing block starts;
			// locate the problem at the token it could not fit when that
			// can be proven, so that editors and FILE:LINE: parsers jump
			// to it, and name the block's line in the message.
			if k, ok := offendingLine(data, whole); ok && k != line {
				m += fmt.Sprintf(" (in the block that starts on line %d)", line)
				line, col = k, firstColumn(data, k)
			}
		}
		l.addAt(line, col, "", "invalid YAML: "+m, hint)
	}
}

// firstColumn is the 1-based column of the first character of a line
// (1-based) that is not indentation: where the token the parser failed at
// starts, on the line offendingLine proves.
func firstColumn(data []byte, line int) int {
	rest := data
	for range line - 1 {
		_, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return 1
		}
		rest = after
	}
	text, _, _ := bytes.Cut(rest, []byte("\n"))
	return utf8.RuneCount(text) - utf8.RuneCount(bytes.TrimLeft(text, " \t")) + 1
}

// offendingLineMax bounds the specs offendingLine searches: its parses take
// some 15 times one parse (BENCHMARKS.md), seconds for a spec of 1 MiB; a
// real watch list is a few kilobytes.
const offendingLineMax = 64 << 10

// offendingLine finds the line of the token the YAML parser failed at,
// given the failure's message as yaml.v3 words it (without "yaml: "). The
// parser reports the mark of the enclosing construct, not the problem mark
// of the token (yaml.v3 decode.go, (*parser).fail), but it reads and parses
// as it goes: if the document's first k lines fail with the very same
// message and its first k-1 lines do not, the token it failed at is on line
// k. The search halves the lines (about 20 parses); ok is false unless the
// final pair of parses proves the line.
func offendingLine(data []byte, msg string) (line int, ok bool) {
	var ends []int // ends[i] is the end of line i+1, its newline included
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	fails := func(k int) bool { return k > 0 && parseMessage(data[:ends[k-1]]) == msg }
	lo, hi := 1, len(ends) // the answer is in [lo, hi] if fails is monotone
	if !fails(hi) {
		return 0, false
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if !fails(lo) || fails(lo-1) {
		return 0, false
	}
	return lo, true
}

// parseMessage parses every document of data and returns the first
// failure's message as yamlError sees it, "" when there is none.
func parseMessage(data []byte) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint("panic: ", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			return strings.TrimSpace(strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
}

// MaxValues is the most values (mappings, lists, scalars and keys) a spec
// may hold once its aliases are expanded. A real watch list holds a few
// thousand; the cap bounds the work any input can cause, well below
// yaml.v3's own alias guard.
const MaxValues = 50_000

// checkExpansion counts the values the tree expands to, following each
// anchor once, and refuses a tree above MaxValues or an alias that contains
// itself.
func (l *loader) checkExpansion(root *yaml.Node) bool {
	const visiting = -1
	memo := map[*yaml.Node]int{} // anchored nodes only: only they are shared
	var firstAlias, cycle *yaml.Node
	var size func(n *yaml.Node) int
	size = func(n *yaml.Node) int {
		if n.Kind == yaml.AliasNode {
			if firstAlias == nil {
				firstAlias = n
			}
			if n.Alias == nil {
				return 1
			}
			if memo[n.Alias] == visiting {
				if cycle == nil {
					cycle = n
				}
				return l.doc.maxValues + 1
			}
			return size(n.Alias)
		}
		if n.Anchor != "" {
			if v, ok := memo[n]; ok && v != visiting {
				return v
			}
			memo[n] = visiting
		}
		total := 1
		for _, c := range n.Content {
			if total += size(c); total > l.doc.maxValues {
				break
			}
		}
		if n.Anchor != "" {
			memo[n] = total
		}
		return total
	}
	total := size(root)
	switch {
	case cycle != nil:
		l.addNode(cycle, "", fmt.Sprintf("alias *%s refers to a value that contains it", cycle.Value), "an alias may only repeat a value defined before and outside it")
		return false
	case total > l.doc.maxValues && firstAlias != nil:
		l.addNode(firstAlias, "", fmt.Sprintf("YAML aliases expand the %s to more than %d values", l.doc.noun, l.doc.maxValues),
			"write the values out instead of repeating them through anchors and aliases")
		return false
	case total > l.doc.maxValues:
		l.addNode(root, "", l.doc.tooMany, "is this the right file?")
		return false
	}
	return true
}

// parserProblems are yaml.v3's parser (not scanner) messages, whose line
// numbers it reports 0-based; see yaml.v3 decode.go (*parser).fail.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// findIndentTab finds the first tab in a line's indentation at or after
// line from (1-based), and returns its position.
func findIndentTab(data []byte, from int) (line, col int, ok bool) {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if i+1 < from {
			continue
		}
		for j, c := range l {
			if c == '\t' {
				return i + 1, j + 1, true
			}
			if c != ' ' && c != '-' {
				break
			}
		}
	}
	return 0, 0, false
}

// firstAlias returns the first alias node in document order, without
// following any alias.
func firstAlias(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return n
	}
	for _, c := range n.Content {
		if a := firstAlias(c); a != nil {
			return a
		}
	}
	return nil
}

// sanitize makes the tree hold only what JSON can: string keys, no NaN or
// infinities, no custom tags, no repeated keys; timestamps are retagged as
// the strings they were written as. Each offending value is reported and cut
// out of the tree (a list item becomes null), and its path is remembered so
// that later stages do not report it a second time, so the rest of the spec
// is still checked in the same run. It never follows aliases, so an alias
// bomb costs nothing here; the decoder's own guard stops it later. It
// reports whether n itself must be cut out.
//
// ptr is extended in place (append, never retained), which keeps the walk
// linear in the depth of the tree.
func (l *loader) sanitize(n *yaml.Node, ptr []string) (drop bool) {
	if len(ptr) > maxDepth {
		l.addNode(n, l.renderPath(ptr[:maxDepth]), fmt.Sprintf("values are nested more than %d levels deep; no part of a %s is", maxDepth, l.doc.noun), "")
		return true
	}
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content)/2 > maxFields && !l.wide(ptr) {
			// No other mapping has this many fields; and yaml.v3's
			// duplicate-key check would take quadratic time over them.
			l.addNode(n, l.renderPath(ptr), fmt.Sprintf("mapping has %d fields; no part of a %s has more than %d", len(n.Content)/2, l.doc.noun, maxFields), "")
			return true
		}
		if n.Tag != "!!map" {
			l.addNode(n, l.renderPath(ptr), fmt.Sprintf("YAML tag %s is not supported", n.Tag), "remove the tag")
			n.Tag = "!!map"
		}
		seen := map[string]*yaml.Node{}
		kept := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!merge") {
				what := "a " + kindName(k)
				hint := ""
				if k.Kind == yaml.ScalarNode {
					what = strconv.Quote(k.Value)
					hint = fmt.Sprintf("field names are text; YAML reads %s as %s", k.Value, tagName(k.Tag))
					if k.Tag != "!!null" {
						hint += fmt.Sprintf(`: quote it as "%s"`, k.Value)
					}
				}
				l.addNode(k, l.renderPath(ptr), fmt.Sprintf("field name %s is not a string", what), hint)
				continue
			}
			if k.Tag == "!!str" {
				if first, dup := seen[k.Value]; dup {
					l.addNode(k, l.renderPath(with(ptr, k.Value)),
						fmt.Sprintf("field %q appears again (first at line %d)", k.Value, first.Line),
						"each field may appear once per mapping")
					continue
				}
				seen[k.Value] = k
			}
			if l.sanitize(v, append(ptr, k.Value)) {
				l.suppress = append(l.suppress, l.renderPath(with(ptr, k.Value)))
				continue
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
		delete(l.keys, n) // indexed while locating problems above; now stale
	case yaml.SequenceNode:
		if n.Tag != "!!seq" {
			l.addNode(n, l.renderPath(ptr), fmt.Sprintf("YAML tag %s is not supported", n.Tag), "remove the tag")
			n.Tag = "!!seq"
		}
		for i, c := range n.Content {
			if l.sanitize(c, append(ptr, strconv.Itoa(i))) {
				l.suppress = append(l.suppress, l.renderPath(with(ptr, strconv.Itoa(i))))
				n.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: c.Line, Column: c.Column}
			}
		}
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str", "!!int", "!!bool", "!!null":
		case "!!timestamp":
			n.Tag = "!!str" // keep the text exactly as written
		case "!!float":
			s := strings.ToLower(strings.TrimLeft(n.Value, "+-"))
			if s == ".nan" || s == ".inf" || s == "nan" || s == "inf" || s == "infinity" {
				l.addNode(n, l.renderPath(ptr), fmt.Sprintf("%s is not a number patwatch accepts", n.Value),
					fmt.Sprintf(`YAML reads %s as NaN or infinity; quote it if you meant text: "%s"`, n.Value, n.Value))
				return true
			}
		default:
			l.addNode(n, l.renderPath(ptr), fmt.Sprintf("YAML tag %s is not supported", n.Tag), "remove the tag")
			return true
		}
	}
	return false
}

// maxDepth bounds how deeply values may nest; a spec's deepest field
// (searches[i].filters.country[j]) is four levels down.
const maxDepth = 16

// maxFields bounds the keys of one mapping: the widest in the schema (a
// search's filters) has fifteen.
const maxFields = 64

// suppressed reports whether a later stage's problem at path concerns a
// value sanitize already reported and cut out.
func (l *loader) suppressed(path string) bool {
	for _, s := range l.suppress {
		if path == s || strings.HasPrefix(path, s+".") || strings.HasPrefix(path, s+"[") {
			return true
		}
	}
	return false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}

// tagName describes what YAML read a plain scalar as.
func tagName(tag string) string {
	switch tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	}
	return tag
}

// decode turns the sanitised tree into plain Go values for the schema
// validator. Duplicate keys and alias bombs are caught here by yaml.v3.
func (l *loader) decode(root *yaml.Node) (v any, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			l.addAt(1, 1, "", fmt.Sprintf("invalid YAML: decoder failed: %v", r), "")
			v, ok = nil, false
		}
	}()
	var err error
	if l.doc.wide != "" {
		v, err = l.decodeWide(root)
	} else {
		err = root.Decode(&v)
	}
	if err != nil {
		l.yamlError(err, nil, root)
		return nil, false
	}
	if !jsonCompatible(v) {
		// sanitize should have caught every such value with its position.
		l.addNode(root, "", l.doc.noun+" holds a value that is not text, a number, a boolean, a list or a mapping",
			"quote dates, numbers meant as text, and field names")
		return nil, false
	}
	return v, true
}
