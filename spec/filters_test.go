package spec

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/schema"
)

// schemaDoc is the embedded schema as generic JSON.
func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(schema.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// dig follows keys through nested objects.
func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("schema: no object at %q of %v", k, keys)
		}
		v = m[k]
	}
	return v
}

// TestSchemaFiltersAreFilters: the schema's filters and patsnap.Filters name
// the same filters, and each filter's schema type is the one its Go kind and
// tags decode.
func TestSchemaFiltersAreFilters(t *testing.T) {
	props, _ := dig(t, schemaDoc(t), "$defs", "filters", "properties").(map[string]any)
	var inSchema, inGo []string
	for name := range props {
		inSchema = append(inSchema, name)
	}
	for _, ff := range patsnap.FilterFields() {
		inGo = append(inGo, ff.Name)
		p, ok := props[ff.Name].(map[string]any)
		if !ok {
			continue
		}
		typ, _ := p["type"].(string)
		items, _ := p["items"].(map[string]any)
		itemType, _ := items["type"].(string)
		switch {
		case ff.Date:
			ok = p["$ref"] == "#/$defs/date"
		case ff.Kind == patsnap.FilterText:
			// A string, or an enum of strings.
			ok = typ == "string" || (typ == "" && allStrings(p["enum"]))
		case ff.Kind == patsnap.FilterTexts:
			ok = typ == "array" && itemType == "string"
		case ff.Kind == patsnap.FilterCodes:
			ok = typ == "array" && itemType == "integer"
		case ff.Kind == patsnap.FilterInt:
			ok = typ == "integer"
		}
		if !ok {
			t.Errorf("filter %s: schema %v does not fit its Go kind %v (date %v)", ff.Name, p, ff.Kind, ff.Date)
		}
	}
	slices.Sort(inSchema)
	slices.Sort(inGo)
	if !slices.Equal(inSchema, inGo) {
		t.Errorf("schema filters %v\n    Go filters %v", inSchema, inGo)
	}
}

func allStrings(v any) bool {
	list, ok := v.([]any)
	for _, e := range list {
		if _, isStr := e.(string); !isStr {
			return false
		}
	}
	return ok && len(list) > 0
}

// TestSchemaBoundsAreTheClients: the schema states the client's numbers,
// each of which has one owner in package patsnap.
func TestSchemaBoundsAreTheClients(t *testing.T) {
	doc := schemaDoc(t)
	maxResults := dig(t, doc, "$defs", "search", "properties", "max_results")
	for _, c := range []struct {
		name string
		got  any
		want float64
	}{
		{"max_results maximum (the paging cap)", dig(t, maxResults, "maximum"), patsnap.MaxReachable},
		{"max_results default", dig(t, maxResults, "default"), patsnap.DefaultMaxResults},
		{"api.qps default", dig(t, doc, "properties", "api", "properties", "qps", "default"), patsnap.DefaultQPS},
	} {
		if c.got != c.want {
			t.Errorf("schema %s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestFingerprintOfAnAddedFilter: a filter added after fingerprint version
// 1 (no v1 tag) changes no fingerprint while unset, and changes it once set.
func TestFingerprintOfAnAddedFilter(t *testing.T) {
	all := patsnap.FilterFields()
	i := slices.IndexFunc(all, func(f patsnap.FilterField) bool { return f.Name == "assignees" })
	before := slices.Delete(slices.Clone(all), i, i+1) // as if assignees did not exist yet
	added := slices.Clone(all)
	added[i].V1 = false // and then were added
	s := Search{Images: []Image{{URL: "https://x/a.png"}}, PatentType: "D", Model: 1, MaxResults: 100,
		Filters: Filters{Country: []string{"US"}}}
	if a, b := queryFingerprint(s, before), queryFingerprint(s, added); a != b {
		t.Errorf("adding an unset filter changed the fingerprint: %s, then %s", a, b)
	}
	set := s
	set.Filters.Assignees = "huawei"
	if queryFingerprint(set, added) == queryFingerprint(s, added) {
		t.Error("setting the added filter did not change the fingerprint")
	}
}
