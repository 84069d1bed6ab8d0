package spec

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A field's location is kept as a pointer: the list of mapping keys and
// sequence indexes (as decimal strings) leading to it from the top of the
// spec, the same tokens as a JSON pointer's.

// with returns ptr extended by toks, never sharing ptr's backing array.
func with(ptr []string, toks ...string) []string {
	out := make([]string, 0, len(ptr)+len(toks))
	return append(append(out, ptr...), toks...)
}

// resolve follows ptr from root. It returns the deepest node reached, the key
// node of the last mapping step taken (nil if none), and whether the whole
// pointer was followed. Aliases and merge keys are looked through one step at
// a time, so an alias bomb costs no more than its written size.
func (l *loader) resolve(ptr []string) (val, key *yaml.Node, ok bool) {
	n := l.root
	if n == nil {
		return nil, nil, false
	}
	for _, tok := range ptr {
		k, c := l.child(n, tok, 0)
		if c == nil {
			return n, key, false
		}
		n, key = c, k
	}
	return n, key, true
}

// child returns the key and value nodes of tok under n; depth bounds the
// merge-key chains it follows. Keys are looked up through an index built
// once per mapping, so locating many problems in a wide mapping stays linear.
func (l *loader) child(n *yaml.Node, tok string, depth int) (key, val *yaml.Node) {
	if depth > 32 {
		return nil, nil
	}
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 32; i++ {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		idx, ok := l.keys[n]
		if !ok {
			idx = map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Tag != "!!merge" {
					if _, dup := idx[k.Value]; !dup {
						idx[k.Value] = i
					}
				}
			}
			if l.keys == nil {
				l.keys = map[*yaml.Node]map[string]int{}
			}
			l.keys[n] = idx
		}
		if i, ok := idx[tok]; ok {
			return n.Content[i], n.Content[i+1]
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Tag != "!!merge" {
				continue
			}
			m := n.Content[i+1]
			for j := 0; m.Kind == yaml.AliasNode && m.Alias != nil && j < 32; j++ {
				m = m.Alias
			}
			srcs := []*yaml.Node{m}
			if m.Kind == yaml.SequenceNode {
				srcs = m.Content
			}
			for _, s := range srcs {
				if k, c := l.child(s, tok, depth+1); c != nil {
					return k, c
				}
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(n.Content) {
			return nil, n.Content[i]
		}
	}
	return nil, nil
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// renderPath writes ptr the way users read it: searches[1].filters.loc.
// Indexes are told from keys by the node they step into.
func (l *loader) renderPath(ptr []string) string {
	var b strings.Builder
	n := l.root
	for _, tok := range ptr {
		isIndex := false
		if n != nil {
			m := n
			for i := 0; m.Kind == yaml.AliasNode && m.Alias != nil && i < 32; i++ {
				m = m.Alias
			}
			isIndex = m.Kind == yaml.SequenceNode
		} else if _, err := strconv.Atoi(tok); err == nil {
			isIndex = true
		}
		switch {
		case isIndex:
			b.WriteString("[" + tok + "]")
		case plainKeyRE.MatchString(tok):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
		default:
			b.WriteString("[" + strconv.Quote(tok) + "]")
		}
		if n != nil {
			_, n = l.child(n, tok, 0)
		}
	}
	return b.String()
}

// jsonCompatible reports whether v holds only values the schema validator
// accepts; a NaN or a non-string key would make it fail or panic.
func jsonCompatible(v any) bool {
	switch v := v.(type) {
	case nil, bool, string, int, int64, uint64:
		return true
	case float64:
		return v == v && v-v == 0 // not NaN, not infinite
	case []any:
		for _, e := range v {
			if !jsonCompatible(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range v {
			if !jsonCompatible(e) {
				return false
			}
		}
		return true
	}
	return false
}
