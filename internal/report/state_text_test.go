package report

import "testing"

func TestDisplayWidth(t *testing.T) {
	for s, want := range map[string]int{"abc": 3, "手机": 4, "小米科技": 8, "ｆｕｌｌ": 8, "e\u0301": 1, "": 0, "한국": 4} {
		if got := DisplayWidth(s); got != want {
			t.Errorf("DisplayWidth(%q) = %d, want %d", s, got, want)
		}
	}
}
