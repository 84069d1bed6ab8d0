package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRenderInbox(t *testing.T) {
	p := &InboxPage{Spec: "patwatch.yaml", State: "patwatch.state.json", PatwatchVersion: "v1", GeneratedAt: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
		Hits: []InboxHit{{
			PatentPN: "CN305104902S", Title: `<script>window.pwned=true</script>`, CurrentAssignee: "ACME",
			FirstSeen: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Link: "https://worldwide.espacenet.com/patent/search?q=pn%3DCN305104902S",
			Searches: []InboxSearch{{Name: "phone-designs", Score: 0.912}, {Name: "tablets"}},
			Drawing:  Picture{Missing: "no drawing kept"},
		}},
	}
	var buf bytes.Buffer
	if err := RenderInbox(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkPageShape(t, out)
	for _, want := range []string{
		"<h1>patwatch inbox</h1>",
		"1 patent awaits a decision",
		"first seen 2026-11-30 · in phone-designs (score 0.912), tablets",
		`<code class="mark" title="run it to record the decision; --as relevant or report decide otherwise">patwatch mark CN305104902S --as not_relevant</code>`,
		"&lt;script&gt;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	buf.Reset()
	if err := RenderInbox(&buf, &InboxPage{}); err != nil || !strings.Contains(buf.String(), "Nothing awaits a decision") {
		t.Errorf("an empty inbox: %v\n%s", err, buf.String())
	}
}
