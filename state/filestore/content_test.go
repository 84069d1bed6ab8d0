package filestore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/internal/statetest"
	"github.com/patwatch/patwatch/state/statefile"
)

// TestLoadRejectsInvalidContent: well-formed files that would make a run
// report every hit as new, or rebaseline a search silently, or send a job
// id the API never issued, do not load, and Save will not write over them.
func TestLoadRejectsInvalidContent(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"hits null", statetest.StateWith(`{"s":{"fingerprint":`+statetest.ValidFingerprint+`,"baseline_at":"2026-01-01T00:00:00Z","hits":null}}`, `{}`),
			`searches["s"].hits: null`},
		{"hits missing", statetest.StateWith(`{"s":{"fingerprint":`+statetest.ValidFingerprint+`,"baseline_at":"2026-01-01T00:00:00Z"}}`, `{}`),
			`searches["s"]: no hits field`},
		{"fingerprint missing", statetest.StateWith(`{"s":{"baseline_at":"2026-01-01T00:00:00Z","hits":{}}}`, `{}`),
			`searches["s"]: no fingerprint`},
		{"fingerprint null", statetest.StateWith(`{"s":{"fingerprint":null,"baseline_at":"2026-01-01T00:00:00Z","hits":{}}}`, `{}`),
			`searches["s"]: no fingerprint`},
		{"fingerprint short", statetest.StateWith(`{"s":{"fingerprint":"sha256:7b1e","baseline_at":"2026-01-01T00:00:00Z","hits":{}}}`, `{}`),
			`searches["s"].fingerprint: "sha256:7b1e" is not sha256: and 64 lower-case hex digits`},
		{"fingerprint upper case", statetest.StateWith(`{"s":{"fingerprint":"sha256:`+strings.Repeat("AB", 32)+`","baseline_at":"2026-01-01T00:00:00Z","hits":{}}}`, `{}`),
			`is not sha256: and 64 lower-case hex digits`},
		{"fingerprint other hash", statetest.StateWith(`{"s":{"fingerprint":"md5:`+strings.Repeat("ab", 32)+`","baseline_at":"2026-01-01T00:00:00Z","hits":{}}}`, `{}`),
			`is not sha256: and 64 lower-case hex digits`},
		{"baseline missing", statetest.StateWith(`{"s":{"fingerprint":`+statetest.ValidFingerprint+`,"hits":{}}}`, `{}`),
			`searches["s"]: no baseline_at, or the zero time`},
		{"baseline null", statetest.StateWith(`{"s":{"fingerprint":`+statetest.ValidFingerprint+`,"baseline_at":null,"hits":{}}}`, `{}`),
			`no baseline_at, or the zero time`},
		{"baseline zero", statetest.StateWith(`{"s":{"fingerprint":`+statetest.ValidFingerprint+`,"baseline_at":"0001-01-01T00:00:00Z","hits":{}}}`, `{}`),
			`no baseline_at, or the zero time`},
		{"baseline before year 0 in UTC", statetest.StateWith(`{"s":{"fingerprint":`+statetest.ValidFingerprint+`,"baseline_at":"0000-01-01T00:00:00+01:00","hits":{}}}`, `{}`),
			`searches["s"].baseline_at: "0000-01-01T00:00:00+01:00": time -0001-12-31T23:00:00Z is outside years 0000-9999`},
		{"job id letters", statetest.StateWith(`{}`, `{"r":{"format":"pdf","status":"pending","job_id":"abc"}}`),
			`reports["r"].job_id: "abc" is not a decimal number`},
		{"job id leading zero", statetest.StateWith(`{}`, `{"r":{"format":"pdf","status":"pending","job_id":"0042"}}`),
			`reports["r"].job_id: "0042": job id has a leading zero`},
		{"job id too long", statetest.StateWith(`{}`, `{"r":{"format":"pdf","status":"pending","job_id":"`+strings.Repeat("1", 41)+`"}}`),
			`reports["r"].job_id: "` + strings.Repeat("1", 41) + `": job id of 41 characters`},
		// Syntax and unknown members are named first, wherever they are:
		// they are what a hand edit gets wrong.
		{"worse problem later", statetest.StateWith(`{"s":{"hits":{}}}`, `{"r":{"format":"pdf","status":"pending","colour":1}}`),
			`reports["r"]: unknown field "colour"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "patwatch.state.json")
			os.WriteFile(path, []byte(tt.content), 0o600)
			_, err := Load(path)
			var ce *CorruptError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want a *CorruptError saying %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "is not a valid patwatch state: line 1, column ") {
				t.Errorf("error %q does not give the position", err)
			}
			st := sampleState()
			st.Lineage = "x"
			if written, err := saveFile(path, st); written || !errors.As(err, &ce) {
				t.Errorf("Save over it = %v, %v; want a *CorruptError", written, err)
			}
		})
	}
	// The state the tests break loads.
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	os.WriteFile(path, []byte(statetest.StateWith(`{"s":`+statetest.ValidSearch+`}`, `{"r":{"format":"pdf","status":"pending","job_id":"1579434053399035904"}}`)), 0o600)
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

// TestSaveRefusesInvalidContent: Save does not write what Load would
// refuse.
func TestSaveRefusesInvalidContent(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*state.State)
		want   string
	}{
		{"no fingerprint", func(s *state.State) { s.Searches["empty.search"].Fingerprint = "" }, `searches["empty.search"].fingerprint: "" is not sha256:`},
		{"fake fingerprint", func(s *state.State) { s.Searches["empty.search"].Fingerprint = "fp1" }, `"fp1" is not sha256:`},
		{"zero baseline", func(s *state.State) { s.Searches["empty.search"].BaselineAt = time.Time{} }, `searches["empty.search"].baseline_at: the zero time`},
		{"baseline zero to the second", func(s *state.State) { s.Searches["empty.search"].BaselineAt = time.Time{}.Add(time.Millisecond) }, `the zero time`},
		{"job id leading zero", func(s *state.State) { s.Reports["us-pending"].JobID = "042" }, `job_id: "042": job id has a leading zero`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := sampleState()
			tt.mutate(st)
			path := filepath.Join(t.TempDir(), "patwatch.state.json")
			if _, err := saveFile(path, st); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Save = %v, want an error saying %q", err, tt.want)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Error("Save wrote a file")
			}
		})
	}
	// A nil hits map is written as {}, which loads.
	st := sampleState()
	st.Searches["empty.search"].Hits = nil
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	mustSave(t, path, st)
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

// TestLoadErrorPositions: the line and column come from the library's byte
// offset, and the path from its JSON pointer.
func TestLoadErrorPositions(t *testing.T) {
	sample, _ := os.ReadFile(sampleJSON)
	s := string(sample)
	tests := []struct {
		name, content, want string
	}{
		{"unknown field in a hit", strings.Replace(s, `"apno"`, `"apnum"`, 1),
			`line 27, column 11: searches["phone-designs"].hits["EU0065350760001S"]: unknown field "apnum"`},
		{"wrong kind in a hit", strings.Replace(s, `"apdt": 20190528`, `"apdt": "20190528"`, 1),
			`line 28, column 19: searches["phone-designs"].hits["EU0065350760001S"].apdt: "20190528" is not an integer`},
		{"wrong kind in a report", strings.Replace(s, `"logo": true`, `"logo": "yes"`, 1),
			`line 38, column 15: reports["cn108977442b"].logo: want true or false, found a string`},
		{"duplicate in a hit", strings.Replace(s, `"title": "Mobile phones",`, `"title": "Mobile phones", "title": "x",`, 1),
			`line 25, column 37: searches["phone-designs"].hits["EU0065350760001S"]: duplicate field "title"`},
		{"duplicate in a report", strings.Replace(s, `"format": "word",`, `"format": "word", "format": "pdf",`, 1),
			`reports["us-pending"]: duplicate field "format"`},
		{"bad time in a hit", strings.Replace(s, `"2026-03-16T09:26:53Z"`, `"2026-03-16 09:26:53"`, 1),
			`line 17, column 25: searches["phone-designs"].hits["CN305467890S"].first_seen: "2026-03-16 09:26:53" is not an RFC 3339 time`},
		{"bad time in a search", strings.Replace(s, `"baseline_at": "2026-03-14T09:26:53Z"`, `"baseline_at": 5`, 1),
			`searches["empty.search"].baseline_at: want a time string such as 2026-01-02T15:04:05Z, found a number`},
		{"serial", strings.Replace(s, `"serial": 7`, `"serial": -7`, 1),
			`line 3, column 13: serial: -7 is not an integer between 0 and 18446744073709551615`},
		{"hits not an object", strings.Replace(s, `"hits": {}`, `"hits": []`, 1),
			`searches["empty.search"].hits: want an object, found an array`},
		{"missing colon", strings.Replace(s, `"title": "Mobile phones"`, `"title" "Mobile phones"`, 1),
			`is not valid JSON: line 25, column 19: want ':' after an object member name, found '"'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content == s {
				t.Fatal("the replacement did not apply")
			}
			path := filepath.Join(t.TempDir(), "patwatch.state.json")
			os.WriteFile(path, []byte(tt.content), 0o600)
			if _, err := Load(path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v\nwant it to say %q", err, tt.want)
			}
		})
	}
}

// TestLoadVersionAnywhere: the header may come in any order; a hand-edited
// file that puts format_version last is read like any other.
func TestLoadVersionAnywhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	os.WriteFile(path, []byte(`{"searches":{"s":`+statetest.ValidSearch+`},"reports":{},"lineage":"x","serial":3,"format_version":1}`), 0o600)
	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Serial != 3 || st.Lineage != "x" || len(st.Searches) != 1 {
		t.Errorf("Load = %+v", st)
	}
	// And Save rewrites it in canonical order.
	st.PatwatchVersion = "test"
	if written, err := saveFile(path, st); err != nil || !written {
		t.Fatalf("Save = %v, %v", written, err)
	}
	got, _ := os.ReadFile(path)
	want, _ := statefile.Marshal(st)
	if string(got) != string(want) {
		t.Errorf("file is not canonical:\n%s", got)
	}
}

// TestTempNamesAreAtomicfiles: the backup's hard link is a temporary file
// that atomicfile.CleanTemps removes.
func TestTempNamesAreAtomicfiles(t *testing.T) {
	name := tempName(filepath.Join("dir", "patwatch.state.json.backup"))
	if filepath.Dir(name) != "dir" || !strings.HasPrefix(filepath.Base(name), ".patwatch.state.json.backup.tmp-") || len(filepath.Base(name)) != len(".patwatch.state.json.backup.tmp-")+16 {
		t.Errorf("tempName = %s", name)
	}
}
