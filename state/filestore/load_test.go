package filestore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

func TestLoadMissingIsEmpty(t *testing.T) {
	st, err := Load(filepath.Join(t.TempDir(), "none.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.FormatVersion != 1 || st.Serial != 0 || len(st.Lineage) != 36 || st.Searches == nil || st.Reports == nil {
		t.Errorf("Load of a missing file = %+v, want an empty state with a lineage", st)
	}
	st2, _ := Load(filepath.Join(t.TempDir(), "none.json"))
	if st.Lineage == st2.Lineage {
		t.Error("two new states share a lineage")
	}
}

// TestLoadRejects checks that Load never reads a damaged or foreign file
// as a state, and says what is wrong and how to recover.
func TestLoadRejects(t *testing.T) {
	sample, err := os.ReadFile(sampleJSON)
	if err != nil {
		t.Fatal(err)
	}
	s := string(sample)
	tests := []struct {
		name    string
		content string
		want    string // in the message
		newer   bool
	}{
		{"empty", "", "is empty", false},
		{"only white space", " \n\n", "is truncated", false},
		{"truncated", s[:len(s)/2], "is truncated: it ends at line", false},
		{"truncated in a string", s[:strings.Index(s, "HUAWEI")+3], "is truncated", false},
		{"truncated before the last brace", s[:len(s)-2], "is truncated", false},
		{"zero bytes", strings.Repeat("\x00", 512), "is not valid JSON: line 1, column 1: want a JSON object", false},
		{"trailing garbage", s + "x", "after the end of the state", false},
		{"second object", s + "{}", "after the end of the state", false},
		{"not an object", "[]", "not a patwatch state file", false},
		{"no format_version", `{"lineage":"x"}`, "no format_version", false},
		{"no lineage", `{"format_version":1}`, "no lineage", false},
		{"newer", `{"format_version":3,"patwatch_version":"3.0.0","searches":{"x":{"new_field":1}}}`, "written by patwatch 3.0.0 in format 3; this patwatch reads format ≤ 2; upgrade patwatch", true},
		{"newer, version last", `{"searches":{"x":{"new_field":1}},"format_version":3,"patwatch_version":"3.1.0"}`, "written by patwatch 3.1.0 in format 3", true},
		{"newer, no version", `{"format_version":3}`, "written by a newer patwatch in format 3", true},
		{"format 0", `{"format_version":0,"lineage":"x"}`, "format_version 0", false},
		{"format float", `{"format_version":1.5,"lineage":"x"}`, "1.5 is not an integer", false},
		{"unknown field", strings.Replace(s, `"apno"`, `"apnum"`, 1), `searches["phone-designs"].hits["EU0065350760001S"]: unknown field "apnum"`, false},
		{"duplicate hit", `{"format_version":1,"lineage":"x","searches":{"s":{"hits":{"A":{},"A":{}}}}}`, `duplicate patent_pn "A"`, false},
		{"duplicate search", `{"format_version":1,"lineage":"x","searches":{"s":{},"s":{}}}`, `duplicate search "s"`, false},
		{"duplicate field", `{"format_version":1,"lineage":"x","lineage":"y"}`, `duplicate field "lineage"`, false},
		{"empty search name", `{"format_version":1,"lineage":"x","searches":{"":{}}}`, "empty search name", false},
		{"empty patent_pn", `{"format_version":1,"lineage":"x","searches":{"s":{"hits":{"":{}}}}}`, "empty patent_pn", false},
		{"null hit", `{"format_version":1,"lineage":"x","searches":{"s":{"hits":{"A":null}}}}`, `hits["A"]: null`, false},
		{"bad time", `{"format_version":1,"lineage":"x","searches":{"s":{"baseline_at":"2026-02-30T00:00:00Z"}}}`, `searches["s"].baseline_at: "2026-02-30T00:00:00Z" is not an RFC 3339 time`, false},
		{"negative missing", `{"format_version":1,"lineage":"x","searches":{"s":{"hits":{"A":{"missing":-1}}}}}`, `hits["A"].missing: -1 is not an integer`, false},
		{"job id not decimal", `{"format_version":1,"lineage":"x","reports":{"r":{"format":"pdf","status":"pending","job_id":"1.5e18"}}}`, `reports["r"].job_id: "1.5e18" is not a decimal number`, false},
		{"job id as number", `{"format_version":1,"lineage":"x","reports":{"r":{"format":"pdf","status":"pending","job_id":1579434053399035904}}}`, "want a string", false},
		{"unknown status", `{"format_version":1,"lineage":"x","reports":{"r":{"format":"pdf","status":"done"}}}`, `status: "done" is not pending`, false},
		{"bad escape", `{"format_version":1,"lineage":"x\q"}`, `invalid escape \q`, false},
		{"raw newline in string", "{\"format_version\":1,\"lineage\":\"x\ny\"}", "control character", false},
		{"invalid UTF-8", "{\"format_version\":1,\"lineage\":\"\xff\"}", "invalid UTF-8", false},
		{"missing comma", `{"format_version":1 "lineage":"x"}`, "want ',' or '}'", false},
		{"trailing comma", `{"format_version":1,"lineage":"x",}`, "want a string", false},
		{"leading zero", `{"format_version":01,"lineage":"x"}`, "invalid number", false},
		{"bare word", `{"format_version":1,"lineage":nope}`, "invalid literal", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "patwatch.state.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := Load(path)
			if err == nil {
				t.Fatalf("Load = %+v, nil; want an error", st)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file and say %q", err, tt.want)
			}
			var ve *statefile.VersionError
			var ce *CorruptError
			if tt.newer != errors.As(err, &ve) || tt.newer == errors.As(err, &ce) {
				t.Errorf("error %T, newer=%v", err, tt.newer)
			}
			if ce != nil && !strings.Contains(ce.Hint(), "there is no backup") {
				t.Errorf("hint without a backup: %q", ce.Hint())
			}
			// With a backup, the hint says how to restore it.
			os.WriteFile(BackupPath(path), sample, 0o600)
			_, err = Load(path)
			if errors.As(err, &ce) && !strings.Contains(ce.Hint(), "cp "+path+".backup "+path) {
				t.Errorf("hint with a backup: %q", ce.Hint())
			}
			// And Save will not write over it.
			before, _ := os.ReadFile(path)
			if written, err := saveFile(path, sampleState()); err == nil || written {
				t.Errorf("Save over a bad file = %v, %v; want a refusal", written, err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("Save changed a file that Load rejects")
			}
		})
	}
}

// A state uses format 2 only while it holds something format 1 cannot:
// an older watch list's file stays byte for byte what it was, and an older
// patwatch can read it again once the format 2 content is gone.
func TestSaveWritesTheOldestFormatThatHoldsTheState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	st := sampleState()
	if _, err := saveFile(path, st); err != nil {
		t.Fatal(err)
	}
	v1, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(v1), "{\n  \"format_version\": 1,") || st.FormatVersion != 1 {
		t.Fatalf("a state without format 2 content was written as:\n%.60s", v1)
	}

	st.Outbox = []*state.Message{{ID: "m", Channel: "c", GeneratedAt: time.Now(), Events: []state.Event{{Kind: "new", Search: "s", PatentPN: "X"}}}}
	if written, err := saveFile(path, st); err != nil || !written {
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
	if written, err := saveFile(path, back); err != nil || !written {
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
			if _, err := saveFile(path, state.New()); err == nil {
				t.Error("Save wrote over a file Load refuses")
			}
		})
	}
}

var serialRE = regexp.MustCompile(`"serial": [0-9]+,`)
