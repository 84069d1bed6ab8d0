package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// schemaShape reads the layout of the JSON Schema doc: the order of every
// object's properties (which JSON maps forget, so the schema is read token
// by token), following $ref into $defs and merging the alternatives of
// oneOf, anyOf and allOf.
func schemaShape(doc []byte) (*shape, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	root, err := decodeOrdered(dec)
	if err != nil {
		return nil, err
	}
	obj, ok := root.(*object)
	if !ok {
		return nil, fmt.Errorf("the schema is not an object")
	}
	defs, _ := obj.vals["$defs"].(*object)
	r := &shapeReader{defs: defs, seen: map[string]*shape{}}
	return r.read(obj), nil
}

// object is a JSON object with its keys in order.
type object struct {
	keys []string
	vals map[string]any
}

func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &object{vals: map[string]any{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := k.(string)
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			o.keys = append(o.keys, key)
			o.vals[key] = v
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		var list []any
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token()
		return list, err
	}
	return tok, nil
}

// shapeReader reads shapes, each $defs entry once (a recursive schema
// refers to itself).
type shapeReader struct {
	defs *object
	seen map[string]*shape
}

func (r *shapeReader) read(o *object) *shape {
	if ref, ok := o.vals["$ref"].(string); ok {
		return r.ref(ref)
	}
	sh := &shape{props: map[string]*shape{}}
	if props, ok := o.vals["properties"].(*object); ok {
		for _, k := range props.keys {
			sh.keys = append(sh.keys, k)
			if p, ok := props.vals[k].(*object); ok {
				sh.props[k] = r.read(p)
			}
		}
	}
	if items, ok := o.vals["items"].(*object); ok {
		sh.items = r.read(items)
	}
	if add, ok := o.vals["additionalProperties"].(*object); ok {
		sh.other = r.read(add)
	}
	if pats, ok := o.vals["patternProperties"].(*object); ok && len(pats.keys) == 1 {
		if p, ok := pats.vals[pats.keys[0]].(*object); ok {
			sh.other = r.read(p)
		}
	}
	for _, alt := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := o.vals[alt].([]any)
		for _, a := range list {
			if ao, ok := a.(*object); ok {
				sh.merge(r.read(ao))
			}
		}
	}
	return sh
}

func (r *shapeReader) ref(ref string) *shape {
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok || r.defs == nil {
		return nil
	}
	if sh, ok := r.seen[name]; ok {
		return sh
	}
	def, ok := r.defs.vals[name].(*object)
	if !ok {
		return nil
	}
	sh := &shape{props: map[string]*shape{}}
	r.seen[name] = sh
	*sh = *r.read(def)
	return sh
}

// merge adds the keys and shapes of o that s lacks.
func (s *shape) merge(o *shape) {
	if o == nil {
		return
	}
	for _, k := range o.keys {
		if _, ok := s.props[k]; !ok {
			s.keys = append(s.keys, k)
			s.props[k] = o.props[k]
		}
	}
	if s.items == nil {
		s.items = o.items
	}
	if s.other == nil {
		s.other = o.other
	}
}
