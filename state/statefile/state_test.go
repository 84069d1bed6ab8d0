package statefile

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

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/internal/statetest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// sampleState exercises every field, escapes and non-ASCII text;
// testdata/sample.json is its encoding.
func sampleState() *state.State { return statetest.Sample() }

// readerInput is an input that open reads.
func readerInput(open func() io.Reader) *input { return &input{open: open} }

// load reads the state file at path, as a store does.
func load(path string) (*state.State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Read(io.NewSectionReader(f, 0, fi.Size()))
}

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
			st, err := load(path)
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
	st := state.New()
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
	got, err := load(path)
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
		st.Searches["phone-designs"].Hits["X"+s+string(rune('a'+i))] = &state.Hit{Title: s, CurrentAssignee: s + s, Apno: s, PatentID: s}
		st.Reports["r"+string(rune('a'+i))] = &state.Report{Format: "pdf", Status: state.ReportFailed, LastError: s, File: s}
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
	loaded, err := load(path)
	if err != nil {
		t.Fatal(err)
	}
	var viaJSON state.State
	if err := json.Unmarshal(got, &viaJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, &viaJSON) {
		t.Error("Load and encoding/json read the same file differently")
	}
}

// TestLoadEveryPrefix cuts the sample at every byte: no prefix may load.
func TestLoadEveryPrefix(t *testing.T) {
	sample, _ := os.ReadFile("testdata/sample.json")
	// The last byte is the optional newline.
	for n := 0; n < len(sample)-1; n++ {
		for _, p := range []pass{loading, checking} {
			if _, _, err := decodeState(bytesInput(sample[:n]), p); err == nil {
				t.Fatalf("decoding the first %d bytes succeeded (pass %d)", n, p)
			}
		}
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*state.State)
		want   string
	}{
		{"empty lineage", func(s *state.State) { s.Lineage = "" }, "lineage: empty"},
		{"empty search name", func(s *state.State) { s.Searches[""] = &state.Search{} }, "empty search name"},
		{"nil search", func(s *state.State) { s.Searches["x"] = nil }, `searches["x"]: null`},
		{"nil hit", func(s *state.State) { s.Searches["phone-designs"].Hits["Z"] = nil }, `searches["phone-designs"].hits["Z"]: null`},
		{"empty pn", func(s *state.State) { s.Searches["phone-designs"].Hits[""] = &state.Hit{} }, "empty patent_pn"},
		{"negative missing", func(s *state.State) { s.Searches["phone-designs"].Hits["Z"] = &state.Hit{Missing: -1} }, "missing: negative"},
		{"year 10000", func(s *state.State) {
			s.Searches["phone-designs"].BaselineAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "outside years"},
		{"job id", func(s *state.State) { s.Reports["us-pending"].JobID = "12a" }, "not a decimal number"},
		{"status", func(s *state.State) { s.Reports["us-pending"].Status = "" }, "status"},
		{"format", func(s *state.State) { s.Reports["us-pending"].Format = "html" }, "not pdf or word"},
		{"sha256", func(s *state.State) { s.Reports["us-pending"].SHA256 = "ABC" }, "64 lower-case hex"},
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
	st := &state.State{Lineage: "l", Searches: map[string]*state.Search{"s": {Fingerprint: fp, BaselineAt: time.Unix(1.7e9, 0)}}}
	b, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"hits": {}`) || !strings.Contains(string(b), `"reports": {}`) {
		t.Errorf("nil maps not written as {}:\n%s", b)
	}
	path := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(path, []byte(`{"format_version":1,"lineage":"l","searches":{"s":{"fingerprint":"`+fp+`","baseline_at":"2026-01-01T00:00:00Z","hits":{}}},"reports":null}`), 0o600)
	got, err := load(path)
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
	want, _, err := decodeState(bytesInput(sample), loading)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []pass{loading, checking} {
		got, _, err := decodeState(readerInput(func() io.Reader { return iotest.OneByteReader(bytes.NewReader(sample)) }), p)
		if err != nil {
			t.Fatalf("pass %d: %v", p, err)
		}
		if p == loading && !reflect.DeepEqual(got, want) {
			t.Error("one-byte reads decode differently")
		}
	}
	_, _, err = decodeState(readerInput(func() io.Reader { return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(sample[:100]))) }), loading)
	var se *SyntaxError
	if !errors.As(err, &se) || !se.Truncated {
		t.Errorf("truncated one-byte input: %v", err)
	}
	_, _, err = decodeState(readerInput(func() io.Reader { return iotest.TimeoutReader(bytes.NewReader(sample)) }), loading)
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("read error: %v, want it passed through", err)
	}
}
