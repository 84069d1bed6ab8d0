package schema

import (
	"encoding/json"
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
