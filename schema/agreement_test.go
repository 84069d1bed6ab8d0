package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/patwatch/patwatch/schema"
	"github.com/patwatch/patwatch/spec"
)

// specFiles are the specs of the repository's test data and examples. The
// files under testdata/agree state what to expect in their first line:
// "# both accept", "# both reject: RULE" or "# validate only: RULE".
var specFiles = []string{
	"testdata/agree/*.yaml",
	"../examples/*.yaml",
	"../spec/testdata/bad/*.yaml",
	"../cmd/patwatch/testdata/validate/*.yaml",
}

// validateOnly are the specs outside testdata/agree that validate rejects
// for reasons JSON Schema cannot state, with the reason.
var validateOnly = map[string]string{
	"../spec/testdata/bad/empty.yaml":                "an empty file is no YAML value at all",
	"../cmd/patwatch/testdata/validate/emptied.yaml": "an empty file is no YAML value at all",
}

// TestSchemaAgreesWithValidate runs every spec of the test data through
// the schema, as an editor would, and through validate. The schema never
// refuses what validate accepts, and every rule it can state it states: a
// spec validate refuses is refused by the schema too, unless the rule is
// one JSON Schema cannot express (a file on disk, a calendar, uniqueness
// across entries), which the spec names.
func TestSchemaAgreesWithValidate(t *testing.T) {
	sch, err := schema.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, g := range specFiles {
		m, err := filepath.Glob(g)
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: no specs (%v)", g, err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, verr := spec.Load(f)
			var se *spec.Error
			if verr != nil && !errors.As(verr, &se) {
				t.Fatalf("validate: %v", verr)
			}
			validateOK := verr == nil

			doc, ok := editorValue(src)
			if !ok {
				// Not one YAML document of JSON values: an editor checks
				// nothing, validate must refuse it.
				if validateOK {
					t.Error("validate accepts a spec that is not one YAML document")
				}
				return
			}
			serr := sch.Validate(doc)
			schemaOK := serr == nil
			if !schemaOK && validateOK {
				t.Fatalf("the schema refuses a spec validate accepts:\n%v", serr)
			}

			expect, reason := expectation(src)
			if why, ok := validateOnly[f]; ok {
				expect, reason = "validate only", why
			}
			switch {
			case expect == "both accept" && !(schemaOK && validateOK):
				t.Errorf("want both to accept; schema: %v; validate: %v", serr, verr)
			case expect == "both reject" && (schemaOK || validateOK):
				t.Errorf("want both to reject (%s); the schema accepts: %v, validate accepts: %v", reason, schemaOK, validateOK)
			case expect == "validate only" && (!schemaOK || validateOK):
				t.Errorf("want only validate to reject (%s); schema: %v; validate: %v", reason, serr, verr)
			case expect == "" && schemaOK && !validateOK:
				t.Errorf("validate refuses what the schema accepts; state the rule in the schema, or list the file in validateOnly with the reason:\n%v", verr)
			}
		})
	}
}

// expectation reads the first line of a testdata/agree spec.
func expectation(src []byte) (expect, reason string) {
	line, _, _ := bytes.Cut(src, []byte("\n"))
	s, ok := strings.CutPrefix(string(line), "# ")
	if !ok {
		return "", ""
	}
	expect, reason, _ = strings.Cut(s, ":")
	switch expect {
	case "both accept", "both reject", "validate only":
		return expect, strings.TrimSpace(reason)
	}
	return "", ""
}

// editorValue reads YAML the way a YAML editor hands it to JSON Schema:
// one document, timestamps as the text written, through JSON.
func editorValue(src []byte) (any, bool) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	var more yaml.Node
	if dec.Decode(&more) == nil {
		return nil, false
	}
	textTimestamps(&doc)
	var v any
	if err := doc.Decode(&v); err != nil {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

func textTimestamps(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		textTimestamps(c)
	}
}
