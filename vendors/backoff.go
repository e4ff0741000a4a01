package vendors

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry policy of VENDORS.md §1.5 and SPEC.md §2.6.
const (
	// MaxRetries is how many times one push is retried after its first
	// attempt.
	MaxRetries = 2
	// RetryWindow bounds all retries of a push, from its first attempt.
	RetryWindow = 30 * time.Second
	// BaseDelay is the backoff unit: retry n waits BaseDelay × 2^n,
	// jittered.
	BaseDelay = time.Second
	// ThrottledDelay is the Retry-After assumed for a throttled answer
	// that carries none.
	ThrottledDelay = 10 * time.Second
)

// Backoff is the delay before retry n (0 for the first retry): the larger
// of retryAfter and base × 2^n × a factor drawn uniformly from [0.5, 1.5).
// rnd returns a float in [0, 1), like math/rand's Float64. A base of 0 means
// BaseDelay.
func Backoff(n int, base, retryAfter time.Duration, rnd func() float64) time.Duration {
	if base <= 0 {
		base = BaseDelay
	}
	if n < 0 {
		n = 0
	}
	if n > 20 {
		n = 20 // far past any window; keeps the shift from overflowing
	}

	jitter := 0.5 + rnd()
	d := time.Duration(float64(base<<n) * jitter)
	return max(d, retryAfter)
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date, relative to now. It reports false for an empty or unreadable value;
// a date in the past gives 0.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}

	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, 86400)) * time.Second, true
	}

	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}
