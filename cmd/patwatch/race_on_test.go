//go:build race

package main

// raceEnabled says the tests run under the race detector, where making
// thumbnails is some twenty times slower.
const raceEnabled = true
