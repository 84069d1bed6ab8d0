package spec

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30m", 30 * time.Minute, true},
		{"6h", 6 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"45s", 45 * time.Second, true},
		{"0s", 0, true},
		{"", 0, false},
		{"1.5h", 0, false},
		{"-1h", 0, false},
		{"1w", 0, false},
		{"1ms", 0, false},
		{"h", 0, false},
		{"3600", 0, false},
		{"99999999999999999999d", 0, false},
		{"106752d", 0, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 90 * time.Minute, 7 * 24 * time.Hour, 36*time.Hour + 5*time.Second} {
		s := FormatDuration(d)
		back, err := ParseDuration(s)
		if err != nil || back != d {
			t.Errorf("FormatDuration(%v) = %q, which parses to %v, %v", d, s, back, err)
		}
	}
	if got := FormatDuration(3600 * time.Second); got != "1h" {
		t.Errorf("FormatDuration(1h) = %q", got)
	}
}
