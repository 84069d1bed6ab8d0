package pgstore

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/pgstore/pgtest"
	"github.com/patwatch/patwatch/state"
)

// TestDocumentedQueriesRun runs the example queries of docs/postgres.md on
// a state with some history, so that the documented column names stay
// the tables' and the queries keep answering what they say.
func TestDocumentedQueriesRun(t *testing.T) {
	doc, err := os.ReadFile("../../docs/postgres.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	section = section[strings.Index(section, "## Example queries"):]
	section = section[:strings.Index(section[3:], "\n## ")+3]
	var queries []string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(section, -1) {
		for _, q := range strings.Split(m[1], ";") {
			if q = strings.TrimSpace(q); q != "" {
				queries = append(queries, q)
			}
		}
	}
	if len(queries) < 3 {
		t.Fatalf("found %d example queries in docs/postgres.md, want at least 3", len(queries))
	}

	ctx := context.Background()
	schema := pgtest.Schema(t)
	s := open(t, schema, "default")
	st, _ := s.Load(ctx)
	now := time.Now().UTC().Truncate(time.Second)
	st.Searches["phones"] = &state.Search{Fingerprint: fp("f"), BaselineAt: now.Add(-time.Hour), Hits: map[string]*state.Hit{
		"CN1S": {FirstSeen: now.Add(-time.Hour), CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.", Title: "Phone"},
	}}
	st.Reports["r"] = &state.Report{PatentNumber: "CN108977442B", Format: "pdf", Status: state.ReportPending, JobID: "7", SubmittedAt: now}
	mustSave(t, s, st)
	st.Searches["phones"].Hits["CN2S"] = &state.Hit{FirstSeen: now, CurrentAssignee: "Huawei Device Co., Ltd.", Title: "Folding phone"}
	st.Outbox = []*state.Message{{ID: "m-1", Channel: "ip-team", GeneratedAt: now, Spec: "patwatch.yaml",
		Events: []state.Event{{Kind: "new", Search: "phones", PatentPN: "CN2S"}, {Kind: "dropped", Search: "phones", PatentPN: "CN0S"}}}}
	mustSave(t, s, st)
	delete(st.Searches["phones"].Hits, "CN1S")
	mustSave(t, s, st)
	if err := s.RecordRun(ctx, state.RunRecord{Started: now, Finished: now, Command: "apply", Serial: 3, Changed: true, Summary: "1 new"}); err != nil {
		t.Fatal(err)
	}

	conn := pgtest.Conn(t)
	if _, err := conn.Exec(ctx, "SET search_path = "+ident(schema)); err != nil {
		t.Fatal(err)
	}
	results := make([]int, len(queries))
	for i, q := range queries {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("query %d: %v\n%s", i+1, err, q)
		}
		for rows.Next() {
			results[i]++
			if i == 1 { // what each save changed: serial, saved_at, saved_by, entered, left
				v, _ := rows.Values()
				got := fmt.Sprint(v[0], " ", v[3], " ", v[4])
				want := map[int64]string{3: "3 0 1", 2: "2 1 0", 1: "1 1 0"}[v[0].(int64)]
				if got != want {
					t.Errorf("query 2: serial %v entered/left %s, want %s", v[0], got, want)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("query %d: %v\n%s", i+1, err, q)
		}
	}
	// The new hit of this quarter (not the baseline's); three saves; the
	// run; the pending report; the new hit the waiting message announces.
	if want := []int{1, 3, 1, 1, 1}; len(results) != len(want) || !slicesEqual(results, want) {
		t.Errorf("the documented queries returned %v rows, want %v", results, want)
	}
}

func mustSave(t *testing.T, s *Store, st *state.State) {
	t.Helper()
	if written, err := s.Save(context.Background(), st); err != nil || !written {
		t.Fatalf("save: written=%v, %v", written, err)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
