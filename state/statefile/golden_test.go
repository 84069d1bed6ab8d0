package statefile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/internal/statetest"
)

// goldenStates are states whose encodings are pinned byte for byte in
// testdata/<name>.golden. The files were first written by the hand-written
// encoder that format 1 started with, so they hold the bytes every earlier
// patwatch wrote for the same content: an encoder that changes them breaks
// the promise that equal content gives equal bytes across versions (and
// makes every state file in git differ after an upgrade).
func goldenStates() map[string]*state.State {
	t0 := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	fp := func(i int) string { return fmt.Sprintf("sha256:%064x", 0xc0ffee00+i) }
	// Text that every JSON encoder escapes differently somewhere.
	const (
		controls = "nul\x00 soh\x01 bs\b ff\f nl\n cr\r tab\t us\x1f del\x7f"
		quotes   = `"quoted" back\slash /slash/ 'single'`
		html     = "<script>a && b</script>"
		js       = "line\u2028separator paragraph\u2029separator"
		wide     = "手机 (\"smart\") 小米科技有限责任公司 スマートフォン 휴대폰"
		astral   = "emoji 😀 music 𝄞 bom \ufeff replacement \ufffd combining e\u0301"
	)
	return map[string]*state.State{
		"full": {
			FormatVersion:   1,
			Serial:          1<<64 - 1,
			Lineage:         "5f0c2d8e-8a51-4c8e-9f3b-1d2e3f4a5b6c",
			PatwatchVersion: "v1.2.3-0.20260101120000-abcdef012345+dirty",
			Searches: map[string]*state.Search{
				"phone-designs": {
					Fingerprint: fp(1),
					// Another zone and a fraction: written in UTC, to the second.
					BaselineAt: time.Date(2026, 3, 14, 10, 26, 53, 987654321, time.FixedZone("CET", 3600)),
					Hits: map[string]*state.Hit{
						"EU0065350760001S": {
							FirstSeen: t0, Missing: 2, PatentID: "8f7e6d5c-0000-4000-8000-000000000001",
							Title: "Mobile phones", CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.",
							Apno: "EU006535076", Apdt: 20190528, Pbdt: 20190601,
						},
						"CN305467890S": {FirstSeen: t0.Add(48 * time.Hour), Missing: 1, Title: wide, CurrentAssignee: "小米科技有限责任公司"},
						"US-controls":  {FirstSeen: t0, Title: controls, CurrentAssignee: quotes, Apno: html, PatentID: js},
						"US-astral":    {FirstSeen: t0, Title: astral},
						// Keys that sort differently by bytes, by UTF-16
						// code units and by code points.
						"\uff01-fullwidth":         {FirstSeen: t0, Apdt: 1},
						"😀-astral":                 {FirstSeen: t0, Pbdt: 1},
						"É-latin":                  {FirstSeen: t0},
						"a-lower":                  {FirstSeen: t0},
						"Z-upper":                  {FirstSeen: t0},
						"key \"quoted\" \\ \u2028": {FirstSeen: t0, Missing: 2147483647, Apdt: 99991231, Pbdt: 10000101},
					},
				},
				"empty-hits": {Fingerprint: fp(2), BaselineAt: t0, Hits: map[string]*state.Hit{}},
				"nil-hits":   {Fingerprint: fp(3), BaselineAt: t0},
				"ünïcode-名前": {
					Fingerprint: fp(4), BaselineAt: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
					Hits: map[string]*state.Hit{"X1": {FirstSeen: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}},
				},
			},
			Reports: map[string]*state.Report{
				"cn108977442b": {
					PatentNumber: "CN108977442B", PatentID: "0b1c2d3e-aaaa-4bbb-8ccc-123456789abc", Format: "pdf", Logo: true,
					JobID: "1579434053399035904", Status: state.ReportDownloaded,
					SubmittedAt: t0, LinkExpiresAt: t0.Add(7*24*time.Hour + 999*time.Millisecond),
					File: "reports/cn108977442b.pdf", SHA256: strings.Repeat("0123456789abcdef", 4),
					LastError: "an earlier job failed: " + controls,
				},
				"us-pending": {PatentID: "0b1c2d3e", Format: "word", JobID: "42", Status: state.ReportPending, SubmittedAt: t0},
				"failed-one": {
					PatentNumber: "US1234567B2", Format: "pdf", Status: state.ReportFailed, SubmittedAt: t0,
					LastError: "abnormal_cause: " + html + " " + js + " " + wide,
				},
				"名前-report": {PatentNumber: "JP2020123456A", Format: "word", Logo: true, Status: state.ReportPending, JobID: "0", SubmittedAt: t0},
			},
		},
		// format2 pins format 2 from its introduction: every member it adds
		// to format 1, and text the outbox carries from the API.
		"format2": {
			FormatVersion: 2,
			Serial:        7,
			Lineage:       "11111111-2222-4333-8444-555555555555",
			Searches: map[string]*state.Search{
				"weekly": {Fingerprint: fp(7), BaselineAt: t0, RefreshedAt: t0.Add(time.Hour), Hits: map[string]*state.Hit{"CN1S": {FirstSeen: t0, Title: wide}}},
				"plain":  {Fingerprint: fp(8), BaselineAt: t0, Hits: map[string]*state.Hit{}},
			},
			Reports: map[string]*state.Report{
				"resubmitted": {PatentNumber: "CN108977442B", Format: "pdf", Logo: true, JobID: "1579434053399035905", Status: state.ReportPending, SubmittedAt: t0, Submissions: 2},
				"unknown":     {PatentNumber: "CN2", Format: "word", Status: state.ReportFailed, SubmittedAt: t0, OutcomeUnknownAt: t0.Add(time.Minute), LastError: "the job may exist"},
			},
			RetiredSearches: map[string]*state.Search{
				"plain": {Fingerprint: fp(9), BaselineAt: t0, RetiredAt: t0.Add(24 * time.Hour), Hits: map[string]*state.Hit{"A": {FirstSeen: t0, Missing: 1}}},
			},
			RetiredReports: map[string]*state.Report{
				"gone": {PatentID: "id-1", Format: "pdf", JobID: "9", Status: state.ReportDownloaded, SubmittedAt: t0, File: "reports/gone.pdf",
					SHA256: strings.Repeat("ab", 32), RetiredAt: t0.Add(48 * time.Hour)},
			},
			Budget: &state.Budget{Day: "2026-03-14", Calls: 1234},
			Outbox: []*state.Message{
				{ID: "m-2", Channel: "ip-team", GeneratedAt: t0, Spec: "patwatch.yaml", Attempts: 3, FirstFailed: t0.Add(time.Minute), LastError: "HTTP 503",
					Events: []state.Event{
						{Kind: "new", Search: "weekly", PatentPN: "CN1S", Title: js + html, Score: 0.8884816, CurrentAssignee: quotes, Apdt: 20190528, Pbdt: 20190601, Link: "https://example.test/p?q=pn%3DCN1S"},
						{Kind: "dropped", Search: "weekly", PatentPN: "CN0S", Title: controls},
						{Kind: "finished", Report: "resubmitted", Patent: "CN108977442B", File: "reports/resubmitted.pdf"},
						{Kind: "failed", Report: "unknown", Patent: "CN2", Error: astral},
						{Kind: "error", Search: "plain", Error: "patsnap P060: HTTP 503"},
					}},
				{ID: "m-1", Channel: "mail", GeneratedAt: t0, Spec: "-", Simulated: true, Events: []state.Event{{Kind: "new", Search: "weekly", PatentPN: "CN9S"}}},
			},
		},
		"empty": {
			FormatVersion: 1,
			Serial:        0,
			Lineage:       "00000000-0000-4000-8000-000000000000",
		},
		"minimal": {
			FormatVersion: 1,
			Serial:        1,
			Lineage:       "l",
			Searches: map[string]*state.Search{
				"s": {Fingerprint: fp(5), BaselineAt: t0, Hits: map[string]*state.Hit{"A": {FirstSeen: t0}, "B": {}}},
			},
			Reports: map[string]*state.Report{
				"r": {Format: "pdf", Status: state.ReportFailed},
			},
		},
	}
}

// TestEncodeGolden checks that Marshal writes each golden state exactly as
// format 1 always has.
func TestEncodeGolden(t *testing.T) {
	for name, st := range goldenStates() {
		t.Run(name, func(t *testing.T) {
			got, err := Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".golden", got)
		})
	}
}

// TestGoldenFilesRoundTrip loads each golden file and checks that it
// marshals back to the same bytes and holds the state it was made from.
func TestGoldenFilesRoundTrip(t *testing.T) {
	states := goldenStates()
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if len(files) != len(states) {
		t.Errorf("%d golden files for %d golden states", len(files), len(states))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			st, err := load(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(path)
			if string(got) != string(want) {
				t.Errorf("round trip of %s changed it:\n%s", path, got)
			}
		})
	}
}

// TestEncodeAlone: an encoding that stops building hits on a second
// goroutine, from the start or midway (as Save asks once it checks the old
// file), writes the same bytes.
func TestEncodeAlone(t *testing.T) {
	st := statetest.Big(40, 300)
	want, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []int{0, 1, 5, 1 << 30} {
		var l Layout
		w := &signalWriter{after: after, alone: &l.alone}
		if err := encode(w, st, st.Serial, st.PatwatchVersion, &l); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.buf.Bytes(), want) {
			t.Errorf("alone after %d writes: the bytes differ", after)
		}
	}
}

// signalWriter sets alone once it has had after writes.
type signalWriter struct {
	buf   bytes.Buffer
	after int
	alone *atomic.Bool
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if w.after--; w.after < 0 {
		w.alone.Store(true)
	}
	return w.buf.Write(p)
}
