package vendorsim

import (
	"crypto/sha256"
	"strings"
	"sync"
)

// Magic token prefixes (VENDORS.md §4): a token starting with one gets a
// scripted answer, matched before any format check.
const (
	magicDead     = "dead"
	magicBadDev   = "baddev"
	magicSlow     = "slow"
	magicFlaky    = "flaky"
	magicThrottle = "throttle"
	magicFail     = "fail"
	magicHang     = "hang"
	magicRefuse   = "refuse"
)

var magicPrefixes = []string{
	magicDead, magicBadDev, magicSlow, magicFlaky,
	magicThrottle, magicFail, magicHang, magicRefuse,
}

// magicOf returns the magic prefix token starts with, "" if none.
func magicOf(token string) string {
	for _, p := range magicPrefixes {
		if strings.HasPrefix(token, p) {
			return p
		}
	}
	return ""
}

// attemptsLimit bounds the attempt memory; it is emptied when full, which
// at worst makes a flaky token fail once more.
const attemptsLimit = 1 << 20

// attemptMemory counts attempts per token and payload, so "first attempt"
// answers (flaky, refuse) fail once and then succeed.
type attemptMemory struct {
	mu     sync.Mutex
	counts map[[32]byte]int // guarded by mu
}

func newAttemptMemory() *attemptMemory {
	return &attemptMemory{counts: map[[32]byte]int{}}
}

// next records one more attempt of token with payload and returns its
// number, 1 for the first.
func (am *attemptMemory) next(vendor, token string, payload []byte) int {
	h := sha256.New()
	h.Write([]byte(vendor))
	h.Write([]byte{0})
	h.Write([]byte(token))
	h.Write([]byte{0})
	h.Write(payload)
	var key [32]byte
	h.Sum(key[:0])

	am.mu.Lock()
	defer am.mu.Unlock()
	if len(am.counts) >= attemptsLimit {
		clear(am.counts)
	}
	am.counts[key]++
	return am.counts[key]
}

func (am *attemptMemory) reset() {
	am.mu.Lock()
	defer am.mu.Unlock()
	clear(am.counts)
}
