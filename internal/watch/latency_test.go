package watch

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSaveToSignal measures the latency from a save (timed from its start) to the signal, with the real
// clock and the default debounce, for an in-place write and a rename-over save. Each iteration is
// one save; run 20 of each with:
//
//	go test -run '^$' -bench SaveToSignal -benchtime 20x ./watch
//
// It reports the median and maximum latency in milliseconds (ns/op is their mean); -v logs each.
func BenchmarkSaveToSignal(b *testing.B) {
	styles := []struct {
		name string
		save func(tb testing.TB, path, content string)
	}{
		{"in-place", saveStyles[0].save},
		{"rename-over", saveStyles[1].save},
	}
	for _, s := range styles {
		b.Run(s.name, func(b *testing.B) {
			spec := filepath.Join(b.TempDir(), "spec.yaml")
			writeFile(b, spec, "v0\n")
			trig, err := New(Options{Poll: -1}) // default debounce
			must(b, err)
			must(b, trig.Watch(spec))
			startRun(b, trig)

			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Timed from the start of the save: a reading taken after it returns can come late
				// on a loaded machine and understate the latency.
				saved := time.Now()
				s.save(b, spec, "v"+strconv.Itoa(i+1)+"\n")
				select {
				case <-trig.C():
					lat = append(lat, time.Since(saved))
				case <-time.After(waitLimit):
					b.Fatalf("save %d: no signal", i+1)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			median := lat[len(lat)/2]
			if len(lat)%2 == 0 {
				median = (lat[len(lat)/2-1] + median) / 2
			}
			b.ReportMetric(ms(median), "median-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			if testing.Verbose() {
				b.Logf("latencies: %v", lat)
			}
		})
	}
}
