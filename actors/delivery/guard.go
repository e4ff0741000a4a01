package delivery

import (
	"time"

	"github.com/herald-im/herald/vendors"
)

// Unbind guard of VENDORS.md §1.6: APNs 400 BadDeviceToken and huawei
// 80300007 mean a dead token one at a time, but a sandbox/production or
// app mix-up when they dominate a notifier's answers.
const (
	guardWindow   = 5 * time.Minute
	guardBucket   = 10 * time.Second
	guardMinCount = 20
	// ReasonMismatch is the vendor_reason of a token-invalid answer the
	// guard turned into a credential error.
	ReasonMismatch = "environment or app mismatch"
)

// ambiguousInvalid reports the token-invalid answers the guard watches.
func ambiguousInvalid(provider string, res vendors.Result) bool {
	if res.Class != vendors.TokenInvalid {
		return false
	}
	switch provider {
	case "apns", "apns-voip":
		return res.Reason == "BadDeviceToken" && res.HTTPStatus == 400
	case "huawei":
		return res.Reason == "80300007"
	}
	return false
}

// guardSlot counts the answers of one guardBucket.
type guardSlot struct {
	start      time.Time
	total, bad int
}

// unbindGuard counts answers over a sliding window in fixed buckets, so
// its memory stays the same whatever the rate. Pure: callers pass now.
type unbindGuard struct {
	slots [guardWindow / guardBucket]guardSlot
}

// observe counts one answer and reports whether ambiguous answers now
// dominate: at least guardMinCount of them and more than half of all.
func (g *unbindGuard) observe(now time.Time, ambiguous bool) bool {
	start := now.Truncate(guardBucket)
	i := int(start.Unix()/int64(guardBucket/time.Second)) % len(g.slots)
	if !g.slots[i].start.Equal(start) {
		g.slots[i] = guardSlot{start: start}
	}
	g.slots[i].total++
	if ambiguous {
		g.slots[i].bad++
	}

	total, bad := 0, 0
	for _, s := range g.slots {
		if now.Sub(s.start) < guardWindow {
			total += s.total
			bad += s.bad
		}
	}
	return bad >= guardMinCount && 2*bad > total
}
