package state

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A state uses format 2 only while it holds something format 1 cannot:
// an older watch list's file stays byte for byte what it was, and an older
// patwatch can read it again once the format 2 content is gone.
func TestSaveWritesTheOldestFormatThatHoldsTheState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	st := sampleState()
	if _, err := Save(path, st); err != nil {
		t.Fatal(err)
	}
	v1, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(v1), "{\n  \"format_version\": 1,") || st.FormatVersion != 1 {
		t.Fatalf("a state without format 2 content was written as:\n%.60s", v1)
	}

	st.Outbox = []*Message{{ID: "m", Channel: "c", GeneratedAt: time.Now(), Events: []Event{{Kind: "new", Search: "s", PatentPN: "X"}}}}
	if written, err := Save(path, st); err != nil || !written {
		t.Fatalf("Save with an outbox: %v, %v", written, err)
	}
	v2, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(v2), "{\n  \"format_version\": 2,") || st.FormatVersion != 2 {
		t.Fatalf("a state with an outbox was written as:\n%.60s", v2)
	}
	back, err := Load(path)
	if err != nil || len(back.Outbox) != 1 || back.Outbox[0].Events[0].PatentPN != "X" {
		t.Fatalf("Load = %+v, %v", back, err)
	}

	back.Outbox = nil
	if written, err := Save(path, back); err != nil || !written {
		t.Fatalf("Save without the outbox: %v, %v", written, err)
	}
	again, _ := os.ReadFile(path)
	noSerial := func(b []byte) string { return serialRE.ReplaceAllString(string(b), "") }
	if noSerial(again) != noSerial(v1) {
		t.Errorf("once delivered, the state is not format 1's bytes again:\n%s\nwant:\n%s", again, v1)
	}
}

func TestLoadRejectsInconsistentFormat2(t *testing.T) {
	const head = `{"format_version":2,"serial":1,"lineage":"l","patwatch_version":"",` +
		`"searches":{"s":{"fingerprint":"sha256:0000000000000000000000000000000000000000000000000000000000000000","baseline_at":"2026-01-01T00:00:00Z","hits":{}}},` +
		`"reports":{}`
	for _, tc := range []struct{ name, tail, want string }{
		{"refresh of no search", `,"refreshed":{"t":"2026-01-01T00:00:00Z"}}`, `refreshed["t"]: no search of that name`},
		{"zero refresh time", `,"refreshed":{"s":null}}`, `refreshed["s"]: the zero time`},
		{"attempts of no report", `,"report_attempts":{"r":{"submissions":1}}}`, `report_attempts["r"]: no report of that name`},
		{"retired without its time", `,"retired":{"searches":{"s":{"fingerprint":"sha256:0000000000000000000000000000000000000000000000000000000000000000","baseline_at":"2026-01-01T00:00:00Z","hits":{}}},"reports":{},"since":{"searches":{},"reports":{}}}}`, `retired.searches["s"]: no time in retired.since.searches`},
		{"empty retired", `,"retired":{"searches":{},"reports":{},"since":{"searches":{},"reports":{}}}}`, `retired: empty`},
		{"budget day", `,"budget":{"day":"2026-13-01","calls":1}}`, `budget.day: "2026-13-01" is not a date`},
		{"duplicate message", `,"outbox":[{"id":"a","channel":"c","generated_at":"2026-01-01T00:00:00Z","spec":"x","events":[]},{"id":"a","channel":"c","generated_at":"2026-01-01T00:00:00Z","spec":"x","events":[]}]}`, `outbox[1].id: "a" appears twice`},
		{"unknown event kind", `,"outbox":[{"id":"a","channel":"c","generated_at":"2026-01-01T00:00:00Z","spec":"x","events":[{"kind":"boom"}]}]}`, `outbox[0].events[0].kind: "boom"`},
		{"unknown member in a message", `,"outbox":[{"id":"a","channel":"c","generated_at":"2026-01-01T00:00:00Z","spec":"x","events":[],"url":"https://x"}]}`, `outbox[0]: unknown field "url"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "patwatch.state.json")
			os.WriteFile(path, []byte(head+tc.tail+"\n"), 0o600)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v; want an error saying %s", err, tc.want)
			}
			if _, err := Save(path, New()); err == nil {
				t.Error("Save wrote over a file Load refuses")
			}
		})
	}
}

func TestSaveRefusesInvalidFormat2Content(t *testing.T) {
	for name, mutate := range map[string]func(*State){
		"retired without time": func(st *State) {
			st.RetiredSearches = map[string]*Search{"x": {Fingerprint: "sha256:" + strings.Repeat("0", 64), BaselineAt: time.Now(), Hits: map[string]*Hit{}}}
		},
		"message without id": func(st *State) { st.Outbox = []*Message{{Channel: "c"}} },
		"negative budget":    func(st *State) { st.Budget = &Budget{Day: "2026-12-01", Calls: -1} },
	} {
		st := sampleState()
		mutate(st)
		if _, err := Marshal(st); err == nil {
			t.Errorf("%s: Marshal accepted it", name)
		}
	}
}

var serialRE = regexp.MustCompile(`"serial": [0-9]+,`)
