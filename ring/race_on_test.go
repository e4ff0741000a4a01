//go:build race

package ring

// raceEnabled: the test binary runs under the race detector.
const raceEnabled = true
