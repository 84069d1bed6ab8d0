package statefile

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/state/internal/statetest"
)

// TestPartialCheckAgrees holds the check of part of a file (Check with a
// Known), which Save uses once the file differs from the new content, to
// the check of the whole file: for files that agree with an encoding up to
// some byte and then go on valid or not, both say the same.
func TestPartialCheckAgrees(t *testing.T) {
	st := statetest.Big(8, 4)
	var e Layout
	var b bytes.Buffer
	if err := encode(&b, st, 3, "v", &e); err != nil {
		t.Fatal(err)
	}
	enc := b.String()
	names := sortedKeys(st.Searches)
	rng := rand.New(rand.NewPCG(1, 2))
	variants := func(p int) []string {
		head, tail := enc[:p], enc[p:]
		out := []string{
			head,                            // cut short
			head + "x" + tail,               // junk
			head + tail[min(1, len(tail)):], // a byte less
			head + "}" + tail,               // a brace too many
			head + `"` + tail,               // a quote too many
			head + strings.Replace(tail, `"first_seen"`, `"first_sen"`, 1),      // an unknown field
			head + strings.Replace(tail, `"title": "`, `"title": "changed `, 1), // valid
			head + strings.Replace(tail, `"sha256:`, `"sha257:`, 1),             // an invalid fingerprint
		}
		// A later search renamed as an earlier one, or as a new one.
		for _, earlier := range names {
			for _, later := range names {
				if i := strings.Index(tail, `"`+later+`": {`); i >= 0 {
					out = append(out, head+tail[:i]+`"`+earlier+`"`+tail[i+len(later)+2:])
				}
			}
			out = append(out, head+strings.Replace(tail, `"`+earlier+`": {`, `"`+earlier+`-x": {`, 1))
		}
		return out
	}
	cuts := []int{0, 1, len(enc) - 1, len(enc)}
	for _, m := range e.searches {
		cuts = append(cuts, int(m.at)-1, int(m.at), int(m.at)+1, int(m.at)+len(m.name)+1, int(m.at)+len(m.name)+2)
	}
	for range 60 {
		cuts = append(cuts, rng.IntN(len(enc)))
	}
	partials, valid := 0, 0
	for _, p := range cuts {
		if p < 0 || p > len(enc) {
			continue
		}
		for _, old := range variants(p) {
			n := 0
			for n < len(old) && n < len(enc) && old[n] == enc[n] {
				n++
			}
			if old == enc {
				continue
			}
			src := io.NewSectionReader(strings.NewReader(old), 0, int64(len(old)))
			in := e.Known(int64(n)).input(src)
			if in.before != nil {
				partials++
			}
			_, _, partErr := decodeState(in, checking)
			_, _, fullErr := decodeState(sectionInput(src), checking)
			if in.before != nil && fullErr == nil {
				valid++
			}
			if (partErr == nil) != (fullErr == nil) {
				t.Fatalf("agreeing for %d bytes: the partial check says %v, the whole one %v:\n%s", n, partErr, fullErr, old)
			}
		}
	}
	if partials == 0 || valid == 0 || valid == partials {
		t.Fatalf("%d partial checks of which %d valid: the cases test nothing", partials, valid)
	}
	t.Logf("%d partial checks, %d of valid files", partials, valid)
}
