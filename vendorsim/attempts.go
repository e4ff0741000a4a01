package vendorsim

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"
)

// Magic token prefixes (VENDORS.md §4): a token starting with one gets a
// scripted answer, matched before any format check.
const (
	MagicDead     = "dead"
	MagicBadDev   = "baddev"
	MagicSlow     = "slow"
	MagicFlaky    = "flaky"
	MagicThrottle = "throttle"
	MagicFail     = "fail"
	MagicHang     = "hang"
	MagicRefuse   = "refuse"
)

var magicPrefixes = []string{
	MagicDead, MagicBadDev, MagicSlow, MagicFlaky,
	MagicThrottle, MagicFail, MagicHang, MagicRefuse,
}

// SlowDelay is how long a "slow" token waits before its answer.
const SlowDelay = 2 * time.Second

// MagicOf returns the magic prefix token starts with, "" if none.
func MagicOf(token string) string {
	for _, p := range magicPrefixes {
		if strings.HasPrefix(token, p) {
			return p
		}
	}
	return ""
}

// MagicAnswers are one vendor's own answers (A is the vendor's answer
// type) to the magic prefixes that end in an answer. A vendor whose table
// says "others as dead" sets BadDev to its Dead answer.
type MagicAnswers[A any] struct {
	Dead, BadDev, Throttle, Fail A
	// Flaky is the answer to a flaky token's first attempt.
	Flaky A
	// Refuse: the vendor resets a refuse token's first stream (apns,
	// fcm). When false, refuse tokens are ordinary tokens.
	Refuse bool
}

// MagicMatch is what a magic token asks of one attempt.
type MagicMatch[A any] struct {
	// Prefix is the magic prefix, "" for an ordinary token.
	Prefix string
	// Scripted: Answer replaces the vendor's normal checks.
	Scripted bool
	Answer   A
	// Hang: never answer. Refuse: reset the stream.
	Hang, Refuse bool
	// Delay comes before the (normal) answer: slow tokens.
	Delay time.Duration
}

// Match applies the table to one attempt of token; attempt is its number
// from Attempts.Next, 1 for the first.
func (m MagicAnswers[A]) Match(token string, attempt int) MagicMatch[A] {
	out := MagicMatch[A]{Prefix: MagicOf(token)}
	script := func(a A) MagicMatch[A] {
		out.Scripted, out.Answer = true, a
		return out
	}
	switch out.Prefix {
	case MagicDead:
		return script(m.Dead)
	case MagicBadDev:
		return script(m.BadDev)
	case MagicThrottle:
		return script(m.Throttle)
	case MagicFail:
		return script(m.Fail)
	case MagicFlaky:
		if attempt == 1 {
			return script(m.Flaky)
		}
	case MagicHang:
		out.Hang = true
	case MagicRefuse:
		out.Refuse = m.Refuse && attempt == 1
	case MagicSlow:
		out.Delay = SlowDelay
	}
	return out
}

// attemptsLimit bounds the attempt memory; it is emptied when full, which
// at worst makes a flaky token fail once more.
const attemptsLimit = 1 << 20

// Attempts counts one vendor's attempts per token and payload, so "first
// attempt" answers (flaky, refuse) fail once and then succeed.
type Attempts struct {
	vendor string
	mem    *attemptMemory
}

// Next records one more attempt of token with payload (the decoded
// message, so equal pushes match across encodings) and returns its
// number, 1 for the first.
func (a *Attempts) Next(token string, payload []byte) int {
	return a.mem.next(a.vendor, token, payload)
}

// attemptMemory counts attempts by a hash of vendor, token and payload.
type attemptMemory struct {
	mu     sync.Mutex
	counts map[[32]byte]int // guarded by mu
}

func newAttemptMemory() *attemptMemory {
	return &attemptMemory{counts: map[[32]byte]int{}}
}

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
