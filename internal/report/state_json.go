package report

import (
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/spec"
)

// MarkStateJSON copies the state file's JSON from stateJSON (patwatch show
// --format json) to w, as it reads it, with each hit of a live search that ds decides given
// a "decision" member, its verdict, after its own; every other byte is as
// it was, so that without a decision the output is the state file's JSON
// itself. A not_relevant hit is marked too: the state holds it.
func MarkStateJSON(w io.Writer, stateJSON io.Reader, ds *spec.Decisions) error {
	if ds.Len() == 0 {
		_, err := io.Copy(w, stateJSON)
		return err
	}
	// The state file's own encoding: two-space indentation, and strings
	// written as they are, escapes and all.
	m := marker{
		dec: jsontext.NewDecoder(stateJSON, jsontext.AllowDuplicateNames(true)),
		enc: jsontext.NewEncoder(w, jsontext.WithIndent("  "), jsontext.PreserveRawStrings(true), jsontext.AllowDuplicateNames(true)),
		ds:  ds,
	}
	if err := m.object(func(name string) error {
		if name == "searches" {
			return m.object(func(search string) error {
				return m.object(func(member string) error {
					if member == "hits" {
						return m.object(func(pn string) error { return m.hit(search, pn) })
					}
					return m.copy()
				})
			})
		}
		return m.copy()
	}); err != nil {
		return fmt.Errorf("show: the state's JSON: %w", err)
	}
	return nil
}

// marker copies a state's JSON from dec to enc, adding decisions.
type marker struct {
	dec *jsontext.Decoder
	enc *jsontext.Encoder
	ds  *spec.Decisions
}

// object copies an object, calling member for each member's value once
// its name is copied.
func (m *marker) object(member func(name string) error) error {
	return m.objectThen(member, nil)
}

// objectThen is object, with more members written by then, when not nil,
// after the object's own.
func (m *marker) objectThen(member func(name string) error, then func() error) error {
	if err := m.token(); err != nil { // {
		return err
	}
	for m.dec.PeekKind() != '}' {
		name, err := m.dec.ReadToken()
		if err != nil {
			return err
		}
		if err := m.enc.WriteToken(name); err != nil {
			return err
		}
		if err := member(name.String()); err != nil {
			return err
		}
	}
	if then != nil {
		if err := then(); err != nil {
			return err
		}
	}
	return m.token() // }
}

// hit copies the hit pn of search, with its decision when it has one.
func (m *marker) hit(search, pn string) error {
	v := m.ds.For(search, pn)
	if v == "" {
		return m.copy()
	}
	return m.objectThen(func(string) error { return m.copy() }, func() error {
		if err := m.enc.WriteToken(jsontext.String("decision")); err != nil {
			return err
		}
		return m.enc.WriteToken(jsontext.String(string(v)))
	})
}

func (m *marker) token() error {
	t, err := m.dec.ReadToken()
	if err != nil {
		return err
	}
	return m.enc.WriteToken(t)
}

func (m *marker) copy() error {
	v, err := m.dec.ReadValue()
	if err != nil {
		return err
	}
	return m.enc.WriteValue(v)
}
