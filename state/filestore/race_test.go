//go:build race

package filestore

// raceEnabled is true under the race detector, which makes each child
// process start about twenty times slower; the crash test then kills fewer
// children (the detector adds nothing to a test of separate processes).
const raceEnabled = true
