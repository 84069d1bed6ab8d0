// Package schema holds the JSON Schemas (draft 2020-12) of patwatch's two
// YAML files: the spec, and the decisions file beside it.
//
// Each schema is the single source of truth for its file's field names,
// types, ranges and enums: the spec loader validates against it, 'patwatch
// schema' (with --decisions, the decisions file's) prints it, and editors
// read it through the "# yaml-language-server: $schema=…" line at the top of
// the file. Both are embedded in the binary and never fetched.
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

//go:embed decisions.schema.json
var decisionsJSON []byte

// ID is the schema's $id: an identifier under a reserved domain, never
// fetched. Compile registers the embedded bytes under it.
const ID = "https://patwatch.invalid/schema/spec.schema.json"

// DecisionsID is the decisions file schema's $id, under the same reserved
// domain as ID.
const DecisionsID = "https://patwatch.invalid/schema/decisions.schema.json"

// JSON returns the schema's bytes, as embedded. The caller owns the copy.
func JSON() []byte {
	return bytes.Clone(specJSON)
}

// DecisionsJSON returns the decisions file schema's bytes, as embedded. The
// caller owns the copy.
func DecisionsJSON() []byte {
	return bytes.Clone(decisionsJSON)
}

// CompileDecisions returns the embedded decisions file schema, compiled once
// per process under the same rules as Compile.
func CompileDecisions() (*jsonschema.Schema, error) {
	return compiledDecisions()
}

var compiledDecisions = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compileAs(DecisionsID, decisionsJSON)
})

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
	return compileAs(ID, doc)
}

// compileAs compiles the schema doc registered under id.
func compileAs(id string, doc []byte) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("external schema reference %q refused", u)
	}
	if err := c.AddResource(id, bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("load schema %s: %w", id, err)
	}
	s, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", id, err)
	}
	return s, nil
}
