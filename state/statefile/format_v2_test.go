package statefile

import (
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
)

func TestSaveRefusesInvalidFormat2Content(t *testing.T) {
	for name, mutate := range map[string]func(*state.State){
		"retired without time": func(st *state.State) {
			st.RetiredSearches = map[string]*state.Search{"x": {Fingerprint: "sha256:" + strings.Repeat("0", 64), BaselineAt: time.Now(), Hits: map[string]*state.Hit{}}}
		},
		"message without id": func(st *state.State) { st.Outbox = []*state.Message{{Channel: "c"}} },
		"negative budget":    func(st *state.State) { st.Budget = &state.Budget{Day: "2026-12-01", Calls: -1} },
	} {
		st := sampleState()
		mutate(st)
		if _, err := Marshal(st); err == nil {
			t.Errorf("%s: Marshal accepted it", name)
		}
	}
}
