package huawei

import (
	"sync"
	"time"
)

// Unbind guard of VENDORS.md §1.6: Huawei answers 80300007 both for a
// dead token and for a token of another app, so a notifier configured
// with the wrong app would unbind every device. Over a sliding 5 minutes,
// once there are at least guardMin such answers and they are more than
// half of all outcomes, they stop counting as token-invalid.
const (
	guardWindow = 5 * time.Minute
	guardSlots  = 5 // one per minute
	guardMin    = 20
)

// guard counts outcomes per minute slot over the window. Safe for
// concurrent use.
type guard struct {
	mu    sync.Mutex
	slots [guardSlots]guardSlot
}

type guardSlot struct {
	minute   int64 // unix minute the counts belong to
	total    int
	mismatch int
}

// observe counts one outcome at now (badToken: an 80300007 answer) and
// reports whether 80300007 answers now look like an app mismatch.
func (g *guard) observe(now time.Time, badToken bool) bool {
	minute := now.Unix() / 60
	g.mu.Lock()
	defer g.mu.Unlock()

	s := &g.slots[minute%guardSlots]
	if s.minute != minute {
		*s = guardSlot{minute: minute}
	}
	s.total++
	if badToken {
		s.mismatch++
	}

	total, mismatch := 0, 0
	for _, s := range g.slots {
		if minute-s.minute < guardSlots {
			total += s.total
			mismatch += s.mismatch
		}
	}
	return mismatch >= guardMin && 2*mismatch > total
}
