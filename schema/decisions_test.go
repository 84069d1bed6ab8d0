package schema

import (
	"encoding/json"
	"testing"
)

func TestDecisionsSchemaCompiles(t *testing.T) {
	if _, err := CompileDecisions(); err != nil {
		t.Fatalf("CompileDecisions: %v", err)
	}
	var doc struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
	}
	if err := json.Unmarshal(DecisionsJSON(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID != DecisionsID {
		t.Errorf("$schema %q, $id %q", doc.Schema, doc.ID)
	}
}

// TestDecisionsSchemaDescribed: editors can show a description for every
// field of a decisions file, and every object refuses unknown fields.
func TestDecisionsSchemaDescribed(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(DecisionsJSON(), &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	var walk func(ptr string, s map[string]any)
	walk = func(ptr string, s map[string]any) {
		if s["type"] == "object" && s["additionalProperties"] == nil {
			t.Errorf("%s: object open to unknown fields", ptr)
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			ps := p.(map[string]any)
			if !described(ps, defs) {
				t.Errorf("%s/properties/%s: no description", ptr, name)
			}
			walk(ptr+"/properties/"+name, ps)
		}
	}
	walk("#", root)
	for name, d := range defs {
		walk("#/$defs/"+name, d.(map[string]any))
	}
}

func TestDecisionsSchemaValidates(t *testing.T) {
	sch, err := CompileDecisions()
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]any{"version": 1, "decisions": map[string]any{
		"CN305104902S": map[string]any{"verdict": "not_relevant", "note": "scale", "by": "alice", "at": "2026-12-07", "searches": []any{"phone-designs"}},
	}}
	if err := sch.Validate(good); err != nil {
		t.Errorf("a good file refused: %v", err)
	}
	for name, bad := range map[string]any{
		"verdict":  map[string]any{"version": 1, "decisions": map[string]any{"CN1S": map[string]any{"verdict": "maybe"}}},
		"key":      map[string]any{"version": 1, "decisions": map[string]any{"cn1s": map[string]any{"verdict": "relevant"}}},
		"field":    map[string]any{"version": 1, "decisions": map[string]any{"CN1S": map[string]any{"verdict": "relevant", "why": "x"}}},
		"at":       map[string]any{"version": 1, "decisions": map[string]any{"CN1S": map[string]any{"verdict": "relevant", "at": "7.12.2026"}}},
		"version":  map[string]any{"decisions": map[string]any{}},
		"searches": map[string]any{"version": 1, "decisions": map[string]any{"CN1S": map[string]any{"verdict": "relevant", "searches": []any{}}}},
	} {
		if sch.Validate(bad) == nil {
			t.Errorf("%s: a bad file passed", name)
		}
	}
}
