package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/spec"
)

// TestMarkStateJSON: the state's JSON gains a decision member on each
// decided hit of a live search, and is otherwise byte for byte the same.
func TestMarkStateJSON(t *testing.T) {
	in, err := os.ReadFile("../../cmd/patwatch/testdata/show/sample.state.json")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := MarkStateJSON(&out, bytes.NewReader(in), nil); err != nil || !bytes.Equal(out.Bytes(), in) {
		t.Fatalf("without decisions: %v, changed bytes:\n%s", err, out.Bytes())
	}
	ds := &spec.Decisions{ByPatent: map[string]spec.Decision{
		"CN305467890S":     {Verdict: spec.VerdictNotRelevant},
		"EU0065350760001S": {Verdict: spec.VerdictRelevant, Searches: []string{"other"}}, // not in phone-designs
		"CN108977442B":     {Verdict: spec.VerdictReport},                                // a report's patent, no hit
	}}
	out.Reset()
	if err := MarkStateJSON(&out, bytes.NewReader(in), ds); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(in), `"current_assignee": "小米科技有限责任公司"
        }`, `"current_assignee": "小米科技有限责任公司",
          "decision": "not_relevant"
        }`, 1)
	if out.String() != want {
		t.Errorf("marked:\n%s\nwant:\n%s", out.String(), want)
	}
	var v any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Error(err)
	}
}
