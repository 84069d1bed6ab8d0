package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
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
	"../spec/testdata/bad/two-documents.yaml":        "a second YAML document: an editor checks each on its own",
}

// inValidatesWords are the specs whose editor message is validate's own:
// the either/or pairs, set both or neither.
var inValidatesWords = []string{
	"testdata/agree/image-and-images.yaml",
	"testdata/agree/no-image.yaml",
	"testdata/agree/number-and-id.yaml",
	"testdata/agree/no-patent.yaml",
	"testdata/agree/channel-url-and-env.yaml",
	"testdata/agree/channel-no-url.yaml",
}

// TestSchemaAgreesWithValidate runs every spec of the test data through
// the schema, as an editor would, and through validate. The schema never
// refuses what validate accepts, and every rule it can state it states: a
// spec validate refuses is refused by the schema too, unless the rule is
// one JSON Schema cannot express (a file on disk, a calendar, uniqueness
// across entries), which the spec names. Where an editor's message is
// validate's own (inValidatesWords), the schema's errorMessage is
// validate's message and hint.
func TestSchemaAgreesWithValidate(t *testing.T) {
	sch, err := schema.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(schema.JSON(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, f := range specPaths(t) {
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

			docs, ok := editorDocs(src)
			if !ok {
				// YAML that is no JSON value (a key that is not text,
				// infinity): an editor checks nothing, validate must
				// refuse it.
				if validateOK {
					t.Error("validate accepts a spec that is no JSON value")
				}
				return
			}
			serr := checkDocs(sch, raw, docs)
			schemaOK := serr == nil
			if !schemaOK && validateOK {
				t.Fatalf("the schema refuses a spec validate accepts:\n%v", serr)
			}

			expect, reason := expected(f, src)
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
			if slices.Contains(inValidatesWords, f) && se != nil {
				saysValidatesWords(t, se.Problems, editorMessages(serr, raw))
			}
		})
	}
}

// validatesWords is how an editor says a problem in validate's words: the
// message, then "; " and the hint. An editor names no field path, so a
// field that is missing is named before the message, where the editor
// shows it at its entry. An example in a hint (", e.g. …") is left out:
// validate's names the entry.
func validatesWords(p spec.Problem) string {
	w := p.Msg
	if p.Msg == "required field is missing" {
		w = p.Path[strings.LastIndexAny(p.Path, ".]")+1:] + ": " + w
	}
	if p.Hint != "" {
		w += "; " + p.Hint
	}
	return words(w)
}

// words is a message without its example.
func words(msg string) string {
	msg, _, _ = strings.Cut(msg, ", e.g. ")
	return msg
}

// saysValidatesWords checks that the editor says what validate says, no
// more and no less: each of validate's problems in validatesWords, and
// nothing else.
func saysValidatesWords(t *testing.T, problems []spec.Problem, editor []string) {
	t.Helper()
	var want []string
	for _, p := range problems {
		want = append(want, validatesWords(p))
	}
	var got []string
	for _, m := range editor {
		got = append(got, words(m))
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("validate says %q; the editor says %q", w, editor)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("the editor says %q; validate says %q", g, want)
		}
	}
}

// specPaths expands specFiles.
func specPaths(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, g := range specFiles {
		m, err := filepath.Glob(g)
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: no specs (%v)", g, err)
		}
		files = append(files, m...)
	}
	return files
}

// expected is what to expect of a spec: "both accept", "both reject",
// "validate only" (with the reason) or "" (no statement).
func expected(f string, src []byte) (expect, reason string) {
	if why, ok := validateOnly[f]; ok {
		return "validate only", why
	}
	return expectation(src)
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

// editorDoc is one YAML document as a YAML editor hands it to JSON
// Schema, with its NaN values cut out: JSON holds none, so the paths where
// they stood are checked against the schema apart.
type editorDoc struct {
	value any
	nans  [][]string
}

// editorDocs reads YAML the way a YAML editor does: each document on its
// own, timestamps as the text written, through JSON. ok is false when a
// document is no JSON value (a key that is not text, infinity), which an
// editor does not check.
func editorDocs(src []byte) (docs []editorDoc, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, true
		}
		if err != nil {
			return nil, false
		}
		textTimestamps(&n)
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, false
		}
		var d editorDoc
		d.value = cutNaN(v, nil, &d.nans)
		b, err := json.Marshal(d.value)
		if err != nil {
			return nil, false
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&d.value); err != nil {
			return nil, false
		}
		docs = append(docs, d)
	}
}

// cutNaN removes the NaN values from v (a list keeps a null in their
// place) and records their paths.
func cutNaN(v any, path []string, nans *[][]string) any {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) {
			*nans = append(*nans, slices.Clone(path))
			return nil
		}
	case map[string]any:
		for k, e := range v {
			if f, isFloat := e.(float64); isFloat && math.IsNaN(f) {
				*nans = append(*nans, append(slices.Clone(path), k))
				delete(v, k)
				continue
			}
			v[k] = cutNaN(e, append(path, k), nans)
		}
	case []any:
		for i, e := range v {
			v[i] = cutNaN(e, append(path, strconv.Itoa(i)), nans)
		}
	}
	return v
}

// checkDocs validates each document against the schema, as an editor
// does, and refuses a NaN where the schema refuses it.
func checkDocs(sch *jsonschema.Schema, raw map[string]any, docs []editorDoc) error {
	for _, d := range docs {
		if err := sch.Validate(d.value); err != nil {
			return err
		}
		for _, p := range d.nans {
			if refusesNaN(raw, p) {
				return fmt.Errorf("/%s: NaN refused", strings.Join(p, "/"))
			}
		}
	}
	return nil
}

// refusesNaN reports whether the schema refuses NaN at an instance path:
// a number through not-nan, which no bound does; any other type, an enum
// or a const outright.
func refusesNaN(raw map[string]any, path []string) bool {
	s := raw
	for _, tok := range path {
		if s = subschema(raw, s, tok); s == nil {
			return false // nothing is said of the value
		}
	}
	s = deref(raw, s)
	if s["enum"] != nil || s["const"] != nil {
		return true
	}
	switch s["type"] {
	case nil:
		return false
	case "number":
		all, _ := s["allOf"].([]any)
		return slices.ContainsFunc(all, func(a any) bool {
			return a.(map[string]any)["$ref"] == "#/$defs/not-nan"
		})
	}
	return true
}

// subschema is the schema of s that applies to the member tok of a value.
func subschema(raw, s map[string]any, tok string) map[string]any {
	s = deref(raw, s)
	if props, ok := s["properties"].(map[string]any); ok {
		if p, ok := props[tok].(map[string]any); ok {
			return p
		}
	}
	if pats, ok := s["patternProperties"].(map[string]any); ok {
		for pat, p := range pats {
			if regexp.MustCompile(pat).MatchString(tok) {
				p, _ := p.(map[string]any)
				return p
			}
		}
	}
	if _, err := strconv.Atoi(tok); err == nil {
		items, _ := s["items"].(map[string]any)
		return items
	}
	return nil
}

// deref follows a $ref within the schema.
func deref(raw, s map[string]any) map[string]any {
	ref, ok := s["$ref"].(string)
	if !ok {
		return s
	}
	name, _ := strings.CutPrefix(ref, "#/$defs/")
	defs, _ := raw["$defs"].(map[string]any)
	d, _ := defs[name].(map[string]any)
	return deref(raw, d)
}

// editorMessages are the messages yaml-language-server shows for the
// failures in err: a keyword's errorMessage (patternErrorMessage first for
// a pattern) or, for a property refused by false, its object's.
func editorMessages(err error, raw map[string]any) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	var walk func(v *jsonschema.ValidationError)
	walk = func(v *jsonschema.ValidationError) {
		for _, c := range v.Causes {
			walk(c)
		}
		if len(v.Causes) > 0 {
			return
		}
		_, frag, _ := strings.Cut(v.AbsoluteKeywordLocation, "#")
		toks := strings.Split(strings.TrimPrefix(frag, "/"), "/")
		holder := toks[:len(toks)-1]
		if len(toks) >= 2 && toks[len(toks)-2] == "properties" {
			holder = toks[:len(toks)-2] // a property refused by false
		}
		s, _ := lookupSchema(raw, holder).(map[string]any)
		msg, _ := s["errorMessage"].(string)
		if pm, ok := s["patternErrorMessage"].(string); ok && toks[len(toks)-1] == "pattern" {
			msg = pm
		}
		if msg == "" {
			msg = v.Message
		}
		out = append(out, msg)
	}
	walk(ve)
	return out
}

// lookupSchema follows JSON pointer tokens through the schema.
func lookupSchema(v any, toks []string) any {
	for _, t := range toks {
		switch c := v.(type) {
		case map[string]any:
			v = c[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func textTimestamps(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		textTimestamps(c)
	}
}
