package spec

import (
	"reflect"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap"
)

func TestQueryChanges(t *testing.T) {
	one := 1
	before := Search{Images: []Image{{URL: "https://img.test/a.png"}}, PatentType: "D", Model: 2, MaxResults: 100,
		Filters: patsnap.Filters{Country: []string{"US", "EU"}, LOC: "14-03", LegalStatus: patsnap.Codes{3}}}
	after := before
	after.Model = 1
	after.Filters.Country = []string{"US", "JP"}
	after.Filters.LOC = "(14-03 OR 14-02)"
	after.Filters.Stemming = &one
	after.MinScore = 0.5
	want := []string{
		"model 2 → 1",
		"filters.country +JP −EU",
		`filters.loc "14-03" → "(14-03 OR 14-02)"`,
		"filters.stemming (unset) → 1",
		"min_score 0 → 0.5",
	}
	if got := QueryChanges(before, after); !reflect.DeepEqual(got, want) {
		t.Errorf("QueryChanges:\n%q\nwant\n%q", got, want)
	}
	// What the fingerprint ignores is no change: the order of a set.
	same := before
	same.Filters.Country = []string{"EU", "US"}
	if got := QueryChanges(before, same); len(got) != 0 {
		t.Errorf("a reordered set: %q", got)
	}
	moved := before
	moved.Images = []Image{{URL: "https://img.test/b.png"}}
	if got := QueryChanges(before, moved); !reflect.DeepEqual(got, []string{"image https://img.test/a.png → https://img.test/b.png"}) {
		t.Errorf("another image: %q", got)
	}
	edited := Search{Images: []Image{{Path: "/w/a.png", SHA256: "2"}}, Model: 1}
	if got := QueryChanges(Search{Images: []Image{{Path: "/w/a.png", SHA256: "1"}}, Model: 1}, edited); !reflect.DeepEqual(got, []string{"image a.png: the file's content changed"}) {
		t.Errorf("an edited image: %q", got)
	}
}
