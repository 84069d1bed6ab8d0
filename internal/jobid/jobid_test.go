package jobid

import "testing"

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"1579434053399035905", true},
		{"0", true},
		{"", false},
		{"01", false},
		{"12a", false},
		{"abc-def", false},
		{"-1", false},
		{"1.5", false},
		{"1e3", false},
		{" 1", false},
		{"1234567890123456789012345678901234567890", true},
		{"12345678901234567890123456789012345678901", false},
	} {
		if got := Check(tc.in) == nil; got != tc.ok {
			t.Errorf("Check(%q) == nil is %v, want %v (%v)", tc.in, got, tc.ok, Check(tc.in))
		}
	}
}
