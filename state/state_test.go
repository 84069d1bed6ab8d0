package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// sampleState exercises every field, escapes and non-ASCII text.
func sampleState() *State {
	t0 := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	return &State{
		FormatVersion:   1,
		Serial:          7,
		Lineage:         "5f0c2d8e-8a51-4c8e-9f3b-1d2e3f4a5b6c",
		PatwatchVersion: "1.2.3",
		Searches: map[string]*Search{
			"phone-designs": {
				Fingerprint: "sha256:7b1e" + strings.Repeat("0", 60),
				BaselineAt:  t0,
				Hits: map[string]*Hit{
					"EU0065350760001S": {
						FirstSeen: t0, PatentID: "8f7e6d5c-0000-4000-8000-000000000001",
						Title: "Mobile phones", CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.",
						Apno: "EU006535076", Apdt: 20190528, Pbdt: 20190528,
					},
					"CN305467890S": {
						FirstSeen: t0.Add(48 * time.Hour), Missing: 1,
						Title: "手机 (\"smart\") <phone> & case\\\t\u2028", CurrentAssignee: "小米科技有限责任公司",
					},
				},
			},
			"empty.search": {Fingerprint: "sha256:" + strings.Repeat("0", 64), BaselineAt: t0},
		},
		Reports: map[string]*Report{
			"cn108977442b": {
				PatentNumber: "CN108977442B", Format: "pdf", Logo: true,
				JobID: "1579434053399035904", Status: ReportDownloaded,
				SubmittedAt: t0, LinkExpiresAt: t0.Add(7 * 24 * time.Hour),
				File: "reports/cn108977442b.pdf", SHA256: strings.Repeat("ab", 32),
			},
			"us-pending": {
				PatentID: "0b1c2d3e", Format: "word", JobID: "42", Status: ReportPending, SubmittedAt: t0,
			},
			"failed-one": {
				PatentNumber: "US1234567B2", Format: "pdf", Status: ReportFailed, SubmittedAt: t0,
				LastError: "abnormal_cause: patent not found",
			},
		},
	}
}

// readerInput is an input that open reads.
func readerInput(open func() io.Reader) *input { return &input{open: open} }

// bytesInput is an input that reads b.
func bytesInput(b []byte) *input {
	return readerInput(func() io.Reader { return bytes.NewReader(b) })
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
		t.Errorf("%s differs from what was produced (run go test -update if the change is intended):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestMarshalGolden(t *testing.T) {
	got, err := Marshal(sampleState())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.json", got)
}

// TestGoldenRoundTrip loads each golden state file and checks that it
// marshals back to the same bytes.
func TestGoldenRoundTrip(t *testing.T) {
	for _, name := range []string{"sample.json", "empty.json"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			st, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(path)
			if !bytes.Equal(got, want) {
				t.Errorf("round trip of %s changed it:\n%s", path, got)
			}
		})
	}
}

func TestEmptyGolden(t *testing.T) {
	st := New()
	st.Lineage = "00000000-0000-4000-8000-000000000000"
	st.Serial = 1
	got, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "empty.json", got)
}

// TestLoadEqualsSaved checks that Load gives back the very values saved,
// with times normalised to UTC seconds.
func TestLoadEqualsSaved(t *testing.T) {
	want := sampleState()
	// A time in another zone with nanoseconds is stored in UTC to the second.
	want.Searches["phone-designs"].Hits["CN305467890S"].FirstSeen = time.Date(2026, 3, 16, 10, 26, 53, 999, time.FixedZone("CET", 3600))
	b, err := Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want.Searches["phone-designs"].Hits["CN305467890S"].FirstSeen = time.Date(2026, 3, 16, 9, 26, 53, 0, time.UTC)
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", " ")
		wb, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("Load after Marshal:\n%s\nwant:\n%s", gb, wb)
	}
}

// TestMarshalMatchesEncodingJSON pins the hand-written encoder to
// encoding/json's output, escapes included.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	st := sampleState()
	odd := []string{"", "a\"b", "\\", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<>&", "\u2028\u2029", "\xff\xfe bad utf8", "é😀", "a\u00e9\U0001F600z", "'"}
	for i, s := range odd {
		st.Searches["phone-designs"].Hits["X"+s+string(rune('a'+i))] = &Hit{Title: s, CurrentAssignee: s + s, Apno: s, PatentID: s}
		st.Reports["r"+string(rune('a'+i))] = &Report{Format: "pdf", Status: ReportFailed, LastError: s, File: s}
	}
	got, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("Marshal differs from encoding/json:\ngot:\n%s\nwant:\n%s", got, want.Bytes())
	}
	// And what it wrote reads back as encoding/json reads it.
	path := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(path, got, 0o600)
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var viaJSON State
	if err := json.Unmarshal(got, &viaJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, &viaJSON) {
		t.Error("Load and encoding/json read the same file differently")
	}
}

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
	sample, err := os.ReadFile("testdata/sample.json")
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
			var ve *VersionError
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
			if written, err := Save(path, sampleState()); err == nil || written {
				t.Errorf("Save over a bad file = %v, %v; want a refusal", written, err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("Save changed a file that Load rejects")
			}
		})
	}
}

// TestLoadEveryPrefix cuts the sample at every byte: no prefix may load.
func TestLoadEveryPrefix(t *testing.T) {
	sample, _ := os.ReadFile("testdata/sample.json")
	// The last byte is the optional newline.
	for n := 0; n < len(sample)-1; n++ {
		for _, keep := range []bool{true, false} {
			if _, _, err := decodeState(bytesInput(sample[:n]), keep); err == nil {
				t.Fatalf("decoding the first %d bytes succeeded (keep=%v)", n, keep)
			}
		}
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*State)
		want   string
	}{
		{"empty lineage", func(s *State) { s.Lineage = "" }, "lineage: empty"},
		{"empty search name", func(s *State) { s.Searches[""] = &Search{} }, "empty search name"},
		{"nil search", func(s *State) { s.Searches["x"] = nil }, `searches["x"]: null`},
		{"nil hit", func(s *State) { s.Searches["phone-designs"].Hits["Z"] = nil }, `searches["phone-designs"].hits["Z"]: null`},
		{"empty pn", func(s *State) { s.Searches["phone-designs"].Hits[""] = &Hit{} }, "empty patent_pn"},
		{"negative missing", func(s *State) { s.Searches["phone-designs"].Hits["Z"] = &Hit{Missing: -1} }, "missing: negative"},
		{"year 10000", func(s *State) { s.Searches["phone-designs"].BaselineAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "outside years"},
		{"job id", func(s *State) { s.Reports["us-pending"].JobID = "12a" }, "not a decimal number"},
		{"status", func(s *State) { s.Reports["us-pending"].Status = "" }, "status"},
		{"format", func(s *State) { s.Reports["us-pending"].Format = "html" }, "not pdf or word"},
		{"sha256", func(s *State) { s.Reports["us-pending"].SHA256 = "ABC" }, "64 lower-case hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := sampleState()
			tt.mutate(st)
			_, err := Marshal(st)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Marshal error = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestNilMapsAreEmpty(t *testing.T) {
	fp := "sha256:" + strings.Repeat("0", 64)
	st := &State{Lineage: "l", Searches: map[string]*Search{"s": {Fingerprint: fp, BaselineAt: time.Unix(1.7e9, 0)}}}
	b, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"hits": {}`) || !strings.Contains(string(b), `"reports": {}`) {
		t.Errorf("nil maps not written as {}:\n%s", b)
	}
	path := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(path, []byte(`{"format_version":1,"lineage":"l","searches":{"s":{"fingerprint":"`+fp+`","baseline_at":"2026-01-01T00:00:00Z","hits":{}}},"reports":null}`), 0o600)
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reports == nil || got.Searches["s"].Hits == nil {
		t.Error("Load left nil maps")
	}
}

// TestDecodeSmallReads feeds the decoder one byte per read, so that every
// token spans reads and the buffer moves under it.
func TestDecodeSmallReads(t *testing.T) {
	sample, _ := os.ReadFile("testdata/sample.json")
	want, _, err := decodeState(bytesInput(sample), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{true, false} {
		got, _, err := decodeState(readerInput(func() io.Reader { return iotest.OneByteReader(bytes.NewReader(sample)) }), keep)
		if err != nil {
			t.Fatalf("keep=%v: %v", keep, err)
		}
		if keep && !reflect.DeepEqual(got, want) {
			t.Error("one-byte reads decode differently")
		}
	}
	_, _, err = decodeState(readerInput(func() io.Reader { return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(sample[:100]))) }), true)
	var se *syntaxError
	if !errors.As(err, &se) || !se.eof {
		t.Errorf("truncated one-byte input: %v", err)
	}
	_, _, err = decodeState(readerInput(func() io.Reader { return iotest.TimeoutReader(bytes.NewReader(sample)) }), true)
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("read error: %v, want it passed through", err)
	}
}
