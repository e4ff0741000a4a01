// Package ratelimit enforces the per-app REST rate limits of SPEC.md
// §11.1: fixed windows per (app, bucket), with limits from the app's
// push config (rate_limits), 1 s windows except statistics (10 s).
//
// TODO: SPEC asks for cluster-wide limits; each node counts its own
// requests, so an app spreading requests over n nodes gets up to n times
// its limit. Sharing the counters needs a per-app counter exchanged
// between nodes, which does not exist yet.
package ratelimit

import (
	"sync"
	"time"

	"github.com/herald-im/herald/messages"
)

// Buckets of SPEC.md §11.1 and their defaults (requests per window).
const (
	Settings   = "settings"
	Templates  = "templates"
	Statistics = "statistics"
	User       = "user"
)

var defaults = map[string]int32{Settings: 100, Templates: 10, Statistics: 10, User: 100}

// window is the length of each bucket's fixed window.
func window(bucket string) time.Duration {
	if bucket == Statistics {
		return 10 * time.Second
	}
	return time.Second
}

// Limiter counts requests per (app, bucket) in fixed windows. It is safe
// for concurrent use; its memory is one entry per app and bucket in use.
type Limiter struct {
	now func() time.Time

	mu sync.Mutex
	// counts holds the current window of each (appkey, bucket).
	counts map[key]*count
}

type key struct{ app, bucket string }

type count struct {
	start time.Time
	n     int32
}

// New returns a limiter on the given clock (nil = time.Now).
func New(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, counts: map[key]*count{}}
}

// Allow counts one request of app in bucket and reports whether it is
// within the app's limit. Unknown buckets are unlimited.
func (l *Limiter) Allow(app *messages.AppRecord, bucket string) bool {
	limit, ok := limitOf(app, bucket)
	if !ok {
		return true
	}
	now := l.now()
	k := key{app.GetOrg() + "#" + app.GetName(), bucket}

	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[k]
	if c == nil {
		c = &count{}
		l.counts[k] = c
	}
	if now.Sub(c.start) >= window(bucket) || now.Before(c.start) {
		c.start = now.Truncate(window(bucket))
		c.n = 0
	}
	if c.n >= limit {
		return false
	}
	c.n++
	return true
}

// limitOf is the app's configured limit for bucket, else the default.
func limitOf(app *messages.AppRecord, bucket string) (int32, bool) {
	def, ok := defaults[bucket]
	if !ok {
		return 0, false
	}
	rl := app.GetConfig().GetRateLimits()
	var v int32
	switch bucket {
	case Settings:
		v = rl.GetSettings()
	case Templates:
		v = rl.GetTemplates()
	case Statistics:
		v = rl.GetStatistics()
	case User:
		v = rl.GetUser()
	}
	if v <= 0 {
		v = def
	}
	return v, true
}
