// Package schema holds the JSON Schema (draft 2020-12) of a patwatch spec.
//
// The schema is the single source of truth for the spec's field names, types,
// ranges and enums: the spec loader validates against it, 'patwatch schema'
// prints it, and editors read it through the
// "# yaml-language-server: $schema=…" line at the top of a spec. It is
// embedded in the binary and never fetched.
package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

//go:embed spec.schema.json
var specJSON []byte

// ID is the schema's $id: an identifier under a reserved domain, never
// fetched. Compile registers the embedded bytes under it.
const ID = "https://patwatch.invalid/schema/spec.schema.json"

// JSON returns the schema's bytes, as embedded. The caller owns the copy.
func JSON() []byte {
	return bytes.Clone(specJSON)
}

// Compile returns the embedded schema, compiled once per process: compiling
// takes about 3 ms, several times the rest of a spec's parse. Format keywords
// are asserted, and a $ref to anything outside the schema is refused rather
// than loaded from disk or network. The result is never modified and is safe
// for concurrent use.
func Compile() (*jsonschema.Schema, error) {
	return compiled()
}

// compiled is the one compilation of the embedded, immutable schema bytes.
var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compile(specJSON)
})

func compile(doc []byte) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("external schema reference %q refused", u)
	}
	if err := c.AddResource(ID, bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("load spec schema: %w", err)
	}
	s, err := c.Compile(ID)
	if err != nil {
		return nil, fmt.Errorf("compile spec schema: %w", err)
	}
	return s, nil
}
