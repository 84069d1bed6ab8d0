package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update if intended):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

var runTime = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// sampleReport has one of every entry that tells something, and some that
// tell nothing.
func sampleReport() *report.ChangeReport {
	rep := &report.ChangeReport{
		Command: "apply", GeneratedAt: runTime,
		Searches: []report.SearchChange{
			{Name: "phone-designs", Status: report.StatusOK,
				New: []report.HitChange{
					{PatentPN: "EU0065350760001S", Title: "Mobile phones", Score: 0.888, CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.",
						Apdt: 20190528, Pbdt: 20190528, ImageURL: "http://img.example/a.png?X-Amz-Signature=secret", Link: "https://worldwide.espacenet.com/patent/search?q=pn%3DEU0065350760001S"},
					{PatentPN: "CN305104902S", Title: "相机镜头", Score: 0.6, CurrentAssignee: "BYD", Apdt: 20240606, Pbdt: 20260111},
				},
				Dropped: []report.HitChange{{PatentPN: "USD810151S", Title: "Armchair", CurrentAssignee: "MICROSOFT", Apdt: 20150729, Pbdt: 20170206}}},
			{Name: "watch-faces", Status: report.StatusBaseline, Hits: 40},
			{Name: "tables", Status: report.StatusError, Error: "P060 image search: rate-limit"},
			{Name: "old", Status: report.StatusRemoved},
			{Name: "sofas", Status: report.StatusSkipped},
			// Held by the daily budget: an error every run until the next
			// UTC day, which no channel is told about.
			{Name: "lamps", Status: report.StatusError, Error: "daily budget reached: …", Deferred: true},
		},
		Reports: []report.ReportChange{
			{Name: "cn108977442b", Patent: "CN108977442B", Status: report.ReportFinished, File: "reports/cn108977442b.pdf"},
			{Name: "broken", Patent: "CN2", Status: report.ReportFailed, Error: "由于服务器异常"},
			{Name: "flaky", Patent: "CN3", Status: report.ReportError, Error: "R002: timeout"},
			{Name: "later", Patent: "CN4", Status: report.ReportError, Error: "daily budget reached: …", Deferred: true},
			{Name: "pending", Patent: "CN4", Status: report.ReportPending},
			{Name: "ready", Patent: "CN5", Status: report.ReportReady},
		},
	}
	rep.Finish()
	return rep
}

func TestEvents(t *testing.T) {
	got := Events(sampleReport())
	var kinds []string
	for _, e := range got {
		kinds = append(kinds, e.Kind+" "+e.Search+e.Report)
	}
	want := []string{"new phone-designs", "new phone-designs", "dropped phone-designs", "error tables",
		"finished cn108977442b", "failed broken", "error flaky"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("events:\n got %q\nwant %q", kinds, want)
	}
	if e := got[0]; e.Score != 0.888 || e.Link == "" || e.CurrentAssignee == "" || e.Apdt != 20190528 {
		t.Errorf("a new hit's event lacks facts: %+v", e)
	}
}

func TestSelect(t *testing.T) {
	events := Events(sampleReport())
	tests := []struct {
		name string
		ch   spec.Channel
		want []string
	}{
		{"all", spec.Channel{On: spec.EventKinds},
			[]string{"new EU0065350760001S", "new CN305104902S", "dropped USD810151S", "error tables", "finished cn108977442b", "failed broken", "error flaky"}},
		{"on new and finished", spec.Channel{On: []string{"new", "finished"}},
			[]string{"new EU0065350760001S", "new CN305104902S", "finished cn108977442b"}},
		{"searches names a search and a report", spec.Channel{On: spec.EventKinds, Searches: []string{"tables", "broken"}},
			[]string{"error tables", "failed broken"}},
		{"min_score filters new hits only", spec.Channel{On: spec.EventKinds, MinScore: 0.8, Searches: []string{"phone-designs"}},
			[]string{"new EU0065350760001S", "dropped USD810151S"}},
		{"min_score equal to the score passes", spec.Channel{On: []string{"new"}, MinScore: 0.6},
			[]string{"new EU0065350760001S", "new CN305104902S"}},
		{"nothing", spec.Channel{On: []string{"dropped"}, Searches: []string{"watch-faces"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range Select(tt.ch, events) {
				got = append(got, e.Kind+" "+e.PatentPN+e.Report+map[bool]string{true: e.Search}[e.Kind == KindError && e.Search != ""])
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func sampleRun() Run {
	return Run{Lineage: "4f6f1c2e-8b1a-4c55-9d0e-7f2b6a1d3c4e", Serial: 12, GeneratedAt: runTime.Add(500 * time.Millisecond), Spec: "patwatch.yaml"}
}

func TestComposeOneMessagePerChannelWithEvents(t *testing.T) {
	channels := []spec.Channel{
		{Name: "ip-team", On: spec.EventKinds},
		{Name: "quiet", On: []string{"dropped"}, Searches: []string{"watch-faces"}},
		{Name: "reports", On: []string{"finished", "failed"}},
	}
	msgs := Compose(channels, Events(sampleReport()), sampleRun())
	if len(msgs) != 2 || msgs[0].Channel != "ip-team" || msgs[1].Channel != "reports" {
		t.Fatalf("messages: %+v", msgs)
	}
	if len(msgs[0].Events) != 7 || len(msgs[1].Events) != 2 {
		t.Errorf("events: %d and %d", len(msgs[0].Events), len(msgs[1].Events))
	}
	if !msgs[0].GeneratedAt.Equal(runTime) {
		t.Errorf("generated_at %v is not the run's second", msgs[0].GeneratedAt)
	}
	if !strings.HasPrefix(msgs[0].ID, "4f6f1c2e-8b1a-4c55-9d0e-7f2b6a1d3c4e:12:ip-team:") || msgs[0].ID == msgs[1].ID {
		t.Errorf("ids: %q %q", msgs[0].ID, msgs[1].ID)
	}
}

// TestMessageIDs: an id is the same for the same message, and differs for
// another save, another channel, or another content under the same serial.
func TestMessageIDs(t *testing.T) {
	ch := []spec.Channel{{Name: "ip-team", On: spec.EventKinds}}
	events := Events(sampleReport())
	id := func(run Run, evs []state.Event) string { return Compose(ch, evs, run)[0].ID }
	base := id(sampleRun(), events)
	if again := id(sampleRun(), events); again != base {
		t.Errorf("the same message got ids %q and %q", base, again)
	}
	next := sampleRun()
	next.Serial++
	other := sampleRun()
	other.Lineage = "another"
	seen := map[string]string{base: "base"}
	for what, got := range map[string]string{
		"next serial":   id(next, events),
		"other lineage": id(other, events),
		"other content": id(sampleRun(), events[:1]),
		"other channel": Compose([]spec.Channel{{Name: "ops", On: spec.EventKinds}}, events, sampleRun())[0].ID,
	} {
		if prev, dup := seen[got]; dup {
			t.Errorf("%s has the id of %s: %q", what, prev, got)
		}
		seen[got] = what
	}
}

// TestBodyGolden pins the webhook JSON of a message of every event kind.
func TestBodyGolden(t *testing.T) {
	msgs := Compose([]spec.Channel{{Name: "ip-team", On: spec.EventKinds}}, Events(sampleReport()), sampleRun())
	var buf bytes.Buffer
	if err := json.Indent(&buf, Body(msgs[0]), "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	golden(t, filepath.Join("testdata", "message.json.golden"), buf.Bytes())
	if bytes.Contains(buf.Bytes(), []byte("X-Amz")) {
		t.Error("the presigned image link is in the message")
	}
}

// TestBodySurvivesTheState: a message read back from the state file has the
// same id and the same body, byte for byte: a resend is the same message.
func TestBodySurvivesTheState(t *testing.T) {
	st := state.New()
	msgs := Compose([]spec.Channel{{Name: "ip-team", On: spec.EventKinds}}, Events(sampleReport()), Run{
		Lineage: st.Lineage, Serial: 1, GeneratedAt: runTime, Spec: "w/patwatch.yaml", Simulated: true})
	msgs[0].Events[0].Score = 0.1 + 0.2 // a float without a short decimal form
	msgs[0].Events[2].Decision = "relevant"
	st.Outbox = msgs
	path := filepath.Join(t.TempDir(), "state.json")
	file, err := filestore.New(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.Save(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	back, err := filestore.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Outbox) != 1 || back.Outbox[0].ID != msgs[0].ID {
		t.Fatalf("outbox read back: %+v", back.Outbox)
	}
	if got, want := Body(back.Outbox[0]), Body(msgs[0]); !bytes.Equal(got, want) {
		t.Errorf("the body changed through the state:\n got %s\nwant %s", got, want)
	}
}

func TestDigestGolden(t *testing.T) {
	rep := sampleReport()
	for i := range 12 {
		rep.Searches[0].New = append(rep.Searches[0].New, report.HitChange{PatentPN: fmt.Sprintf("CN3%08dS", i), Title: "Lamp\nwith a newline",
			Score: 0.7, CurrentAssignee: "ACME"})
	}
	run := sampleRun()
	run.Simulated = true
	msgs := Compose([]spec.Channel{{Name: "ip-team", On: spec.EventKinds}}, Events(rep), run)
	subject, text := Digest(msgs[0], 10)
	if want := "patwatch: 14 new hits, 1 dropped, 1 report finished, 1 report failed, 2 errors (simulated: a --sandbox run)"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	if !strings.Contains(text, "… and 4 more new hits\n") {
		t.Error("the digest does not say how many hits it left out")
	}
	if strings.Contains(text, "Lamp\nwith") {
		t.Error("a title broke its line")
	}
	golden(t, filepath.Join("testdata", "digest.golden"), []byte(text))

	_, text = Digest(TestMessage("ops", "patwatch.yaml", runTime), 0)
	if !strings.HasPrefix(text, "patwatch: test message\n") || !strings.Contains(text, "channel ops works") {
		t.Errorf("test digest:\n%s", text)
	}
}

// TestEventsOfAStoppedRun: a run stopped at an account-wide error tells it
// once, with what to check, and not for every entry it left undone.
func TestEventsOfAStoppedRun(t *testing.T) {
	const balance = "patsnap P060: HTTP 200, code 67200005: Insufficient account balance"
	stop := &report.Stop{Error: balance, Check: "top it up on PatSnap's open platform"}
	tests := []struct {
		name string
		rep  *report.ChangeReport
		want []string
	}{
		{"searches in flight met it", &report.ChangeReport{Stopped: stop,
			Searches: []report.SearchChange{
				{Name: "alpha", Status: report.StatusError, Error: balance},
				{Name: "beta", Status: report.StatusError, Error: report.NotDoneStopped},
				{Name: "gamma", Status: report.StatusError, Error: balance},
				{Name: "tables", Status: report.StatusError, Error: "P060 image search: invalid request"},
			},
			Reports: []report.ReportChange{{Name: "r", Status: report.ReportError, Error: report.NotDoneStopped}}},
			[]string{"error alpha: " + balance + "; the run stopped here, as every other call would fail the same way: top it up on PatSnap's open platform",
				"error tables: P060 image search: invalid request"}},
		{"no entry's own call met it", &report.ChangeReport{Stopped: stop,
			Searches: []report.SearchChange{{Name: "alpha", Status: report.StatusError, Error: report.NotDoneStopped}}},
			[]string{"error : the run stopped at an account-wide error: " + balance + "; top it up on PatSnap's open platform"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range Events(tt.rep) {
				got = append(got, e.Kind+" "+e.Search+e.Report+": "+e.Error)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestDecisionsInMessages: a new or dropped hit's decision travels with
// its event into the webhook JSON and the digest; a hit without one has
// no decision member, so that a message without decisions has the bytes
// (and the id) it had before decisions were notified.
func TestDecisionsInMessages(t *testing.T) {
	rep := sampleReport()
	rep.Searches[0].New[0].Decision = "relevant"
	rep.Searches[0].Dropped[0].Decision = "report"
	msgs := Compose([]spec.Channel{{Name: "ip-team", On: spec.EventKinds}}, Events(rep), sampleRun())
	var wire struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(Body(msgs[0]), &wire); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range wire.Events {
		d, ok := e["decision"]
		got = append(got, fmt.Sprintf("%s %v %v", e["kind"], d, ok))
	}
	want := []string{"new relevant true", "new <nil> false", "dropped report true", "error <nil> false",
		"finished <nil> false", "failed <nil> false", "error <nil> false"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decisions in the body:\n got %q\nwant %q", got, want)
	}
	_, text := Digest(msgs[0], 10)
	for _, line := range []string{"+ EU0065350760001S  Mobile phones  [relevant]\n", "+ CN305104902S  相机镜头\n", "- USD810151S  Armchair  [report]\n"} {
		if !strings.Contains(text, line) {
			t.Errorf("the digest lacks %q:\n%s", line, text)
		}
	}

	// Without decisions, the same message as before: the golden body's
	// bytes, and an id made of them.
	plain := Compose([]spec.Channel{{Name: "ip-team", On: spec.EventKinds}}, Events(sampleReport()), sampleRun())[0]
	if bytes.Contains(Body(plain), []byte(`"decision"`)) {
		t.Errorf("a message without decisions has a decision member: %s", Body(plain))
	}
	if plain.ID == msgs[0].ID {
		t.Error("a message with decisions has the id of one without")
	}
}
