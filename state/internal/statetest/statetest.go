// Package statetest holds the states that the tests of state/statefile and
// state/filestore share.
package statetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/patwatch/patwatch/state"
)

// Sample exercises every field of format 1, escapes and non-ASCII text.
// statefile's testdata/sample.json is its encoding.
func Sample() *state.State {
	t0 := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	return &state.State{
		FormatVersion:   1,
		Serial:          7,
		Lineage:         "5f0c2d8e-8a51-4c8e-9f3b-1d2e3f4a5b6c",
		PatwatchVersion: "1.2.3",
		Searches: map[string]*state.Search{
			"phone-designs": {
				Fingerprint: "sha256:7b1e" + strings.Repeat("0", 60),
				BaselineAt:  t0,
				Hits: map[string]*state.Hit{
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
		Reports: map[string]*state.Report{
			"cn108977442b": {
				PatentNumber: "CN108977442B", Format: "pdf", Logo: true,
				JobID: "1579434053399035904", Status: state.ReportDownloaded,
				SubmittedAt: t0, LinkExpiresAt: t0.Add(7 * 24 * time.Hour),
				File: "reports/cn108977442b.pdf", SHA256: strings.Repeat("ab", 32),
			},
			"us-pending": {
				PatentID: "0b1c2d3e", Format: "word", JobID: "42", Status: state.ReportPending, SubmittedAt: t0,
			},
			"failed-one": {
				PatentNumber: "US1234567B2", Format: "pdf", Status: state.ReportFailed, SubmittedAt: t0,
				LastError: "abnormal_cause: patent not found",
			},
		},
	}
}

// Big is a state of searches × hits hits with realistic field sizes.
func Big(searches, hits int) *state.State {
	st := state.New()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range searches {
		s := &state.Search{Fingerprint: fmt.Sprintf("sha256:%064x", i), BaselineAt: t0, Hits: make(map[string]*state.Hit, hits)}
		for j := range hits {
			s.Hits[fmt.Sprintf("EU%09d%04dS", i, j)] = &state.Hit{
				FirstSeen:       t0.Add(time.Duration(j) * time.Hour),
				Missing:         j % 3,
				PatentID:        fmt.Sprintf("%08x-0000-4000-8000-%012x", i, j),
				Title:           fmt.Sprintf("Mobile phone with a folding screen, variant %d", j),
				CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.",
				Apno:            fmt.Sprintf("EU%09d", j),
				Apdt:            20190528,
				Pbdt:            20190601,
			}
		}
		st.Searches[fmt.Sprintf("search-%04d", i)] = s
	}
	return st
}

// ValidFingerprint and ValidSearch are a search's fingerprint and a search
// member that a reader accepts; tests break one thing in them at a time.
const (
	ValidFingerprint = `"sha256:7b1e000000000000000000000000000000000000000000000000000000000000"`
	ValidSearch      = `{"fingerprint":` + ValidFingerprint + `,"baseline_at":"2026-01-01T00:00:00Z","hits":{}}`
)

// StateWith is a format 1 state file of the given searches and reports
// objects.
func StateWith(searches, reports string) string {
	return `{"format_version":1,"serial":1,"lineage":"x","patwatch_version":"","searches":` + searches + `,"reports":` + reports + `}`
}
