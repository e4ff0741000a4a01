package ratelimit

import (
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
)

func app(name string, rl *messages.RateLimits) *messages.AppRecord {
	return &messages.AppRecord{Org: "o", Name: name, Config: &messages.PushConfig{RateLimits: rl}}
}

// TestRateLimitWindows checks the fixed windows of SPEC.md §11.1 at their
// edges, per app and per bucket.
func TestRateLimitWindows(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(func() time.Time { return now })
	a := app("a", &messages.RateLimits{Templates: 2})

	cases := []struct {
		name   string
		at     time.Duration
		app    *messages.AppRecord
		bucket string
		want   bool
	}{
		{"first template request", 0, a, Templates, true},
		{"second template request", 100 * time.Millisecond, a, Templates, true},
		{"third in the same second is refused", 999 * time.Millisecond, a, Templates, false},
		{"another bucket is counted apart", 999 * time.Millisecond, a, Settings, true},
		{"another app is counted apart", 999 * time.Millisecond, app("b", nil), Templates, true},
		{"the next window opens", time.Second, a, Templates, true},
		{"unknown buckets are unlimited", time.Second, a, "other", true},
	}
	for _, c := range cases {
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(c.at)
		if got := l.Allow(c.app, c.bucket); got != c.want {
			t.Fatalf("%s: Allow(%s, %s) at %v = %v, want %v", c.name, c.app.Name, c.bucket,
				c.at, got, c.want)
		}
	}
}

// TestRateLimitDefaults checks the default limits, including the 10 s
// statistics window.
func TestRateLimitDefaults(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(func() time.Time { return now })
	a := app("a", nil)

	for i := range 10 {
		if !l.Allow(a, Statistics) {
			t.Fatalf("statistics request %d refused under the default of 10", i+1)
		}
	}
	now = now.Add(9 * time.Second)
	if l.Allow(a, Statistics) {
		t.Fatal("11th statistics request within 10 s allowed")
	}
	now = now.Add(time.Second)
	if !l.Allow(a, Statistics) {
		t.Fatal("statistics request in the next 10 s window refused")
	}
	for i := range 100 {
		if !l.Allow(a, User) {
			t.Fatalf("user request %d refused under the default of 100", i+1)
		}
	}
	if l.Allow(a, User) {
		t.Fatal("101st user request in one second allowed")
	}
}
