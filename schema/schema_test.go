package schema

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	if _, err := Compile(); err != nil {
		t.Fatalf("Compile: %v", err)
	}
}

func TestJSONDeclaresIDAndDraft(t *testing.T) {
	var doc struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
	}
	if err := json.Unmarshal(JSON(), &doc); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q, want draft 2020-12", doc.Schema)
	}
	if doc.ID != ID {
		t.Errorf("$id = %q, want %q", doc.ID, ID)
	}
}

func TestJSONReturnsACopy(t *testing.T) {
	b := JSON()
	b[0] = 'X'
	if JSON()[0] != '{' {
		t.Fatal("JSON returned the embedded bytes themselves; a caller could change the schema")
	}
}

// TestEveryPropertyDescribed holds the schema to its promise that editors can
// show a description for every field.
func TestEveryPropertyDescribed(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(JSON(), &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	var walk func(ptr string, s map[string]any)
	walk = func(ptr string, s map[string]any) {
		if _, ok := s["type"]; ok && s["type"] == "object" {
			if s["additionalProperties"] != false {
				t.Errorf("%s: object without additionalProperties:false", ptr)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			ps := p.(map[string]any)
			if !described(ps, defs) {
				t.Errorf("%s/properties/%s: no description", ptr, name)
			}
			walk(ptr+"/properties/"+name, ps)
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(ptr+"/items", items)
		}
	}
	walk("#", root)
	for name, d := range defs {
		walk("#/$defs/"+name, d.(map[string]any))
	}
}

func described(s map[string]any, defs map[string]any) bool {
	if d, _ := s["description"].(string); d != "" {
		return true
	}
	ref, _ := s["$ref"].(string)
	if name, ok := strings.CutPrefix(ref, "#/$defs/"); ok {
		if d, ok := defs[name].(map[string]any); ok {
			return described(d, defs)
		}
	}
	return false
}

func TestExternalRefRefused(t *testing.T) {
	for _, ref := range []string{"https://example.com/other.json", "file:///etc/passwd", "other.json"} {
		doc := `{"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "` + ref + `"}`
		_, err := compile([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("$ref %q: err = %v, want a refusal", ref, err)
		}
	}
}

// visit calls f on every subschema of s, depth first, with its JSON
// pointer and whether it sits inside an if (whose failures an editor never
// shows). Boolean schemas are skipped.
func visit(ptr string, s any, inIf bool, f func(ptr string, s map[string]any, inIf bool)) {
	m, ok := s.(map[string]any)
	if !ok {
		return
	}
	f(ptr, m, inIf)
	for _, kw := range []string{"properties", "patternProperties", "$defs"} {
		sub, _ := m[kw].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(sub)) {
			visit(ptr+"/"+kw+"/"+name, sub[name], inIf, f)
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := m[kw].([]any)
		for i, sub := range list {
			visit(fmt.Sprintf("%s/%s/%d", ptr, kw, i), sub, inIf, f)
		}
	}
	for _, kw := range []string{"items", "additionalProperties", "not", "then", "else"} {
		visit(ptr+"/"+kw, m[kw], inIf, f)
	}
	visit(ptr+"/if", m["if"], true, f)
}

func schemaRoot(t *testing.T) map[string]any {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(JSON(), &root); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestEditorMessages holds the schema to what yaml-language-server shows
// for each rule, so that an editor says what validate says: a pattern
// without patternErrorMessage shows its regular expression, a oneOf
// "Matches multiple schemas when only one must validate.", a failing not
// "Matches a schema that is not allowed." (one inside an if never
// reports), and a required in an anyOf branch the branch's errorMessage.
func TestEditorMessages(t *testing.T) {
	visit("#", schemaRoot(t), false, func(ptr string, s map[string]any, inIf bool) {
		if inIf {
			return
		}
		if _, ok := s["oneOf"]; ok {
			t.Errorf("%s: oneOf; write anyOf of the alternatives, and an if/then that refuses the second when both are set", ptr)
		}
		if _, ok := s["not"]; ok {
			t.Errorf("%s: not outside an if; state the rule as a pattern with patternErrorMessage, or as an if/then", ptr)
		}
		if _, ok := s["pattern"]; ok && s["patternErrorMessage"] == nil {
			t.Errorf("%s: pattern without patternErrorMessage", ptr)
		}
		branches, _ := s["anyOf"].([]any)
		for i, b := range branches {
			if b, _ := b.(map[string]any); b["required"] != nil && b["errorMessage"] == nil {
				t.Errorf("%s/anyOf/%d: required without errorMessage", ptr, i)
			}
		}
	})
}

// TestNumbersRefuseNaN: YAML's .nan passes every bound, so each number
// field refers to not-nan, which refuses it.
func TestNumbersRefuseNaN(t *testing.T) {
	n := 0
	visit("#", schemaRoot(t), false, func(ptr string, s map[string]any, inIf bool) {
		if s["type"] != "number" || inIf {
			return
		}
		n++
		all, _ := s["allOf"].([]any)
		if !slices.ContainsFunc(all, func(a any) bool {
			a2, _ := a.(map[string]any)
			return a2["$ref"] == "#/$defs/not-nan"
		}) {
			t.Errorf(`%s: a number without {"$ref": "#/$defs/not-nan"} in its allOf`, ptr)
		}
	})
	if n == 0 {
		t.Fatal("no number fields found")
	}
}
