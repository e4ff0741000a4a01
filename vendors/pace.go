package vendors

import (
	"math"
	"time"
)

// Pacing of VENDORS.md §1.5: how fast and how wide one notifier sends.
const (
	// PaceRecoverEvery is the calm period after which a throttled
	// notifier's caps grow again by PaceRecoverShare.
	PaceRecoverEvery = 10 * time.Second
	// PaceRecoverShare is the growth per calm period (+10 %).
	PaceRecoverShare = 0.10
)

// PaceConfig configures a Pacer.
type PaceConfig struct {
	// MaxInFlight is the configured in-flight cap; at least 1.
	MaxInFlight int
	// Rate is the notifier's quota in pushes per second; 0 means none
	// until the vendor throttles, then the observed rate is halved.
	Rate float64
	// Burst is how many pushes may start at once when the bucket is
	// full; 0 means one second's worth of the current rate.
	Burst float64
}

// StreamLimiter is implemented by clients whose connections announce how
// many requests they take at once (HTTP/2 SETTINGS). Streams reports the
// sum over the open connections, 0 while unknown.
type StreamLimiter interface {
	Streams() int
}

// Saturator is implemented by clients that add connections while the
// delivery actor's in-flight cap stays full (APNs, VENDORS.md §2.1). The
// actor reports after each scheduling round whether its cap is full.
type Saturator interface {
	Saturated(full bool)
}

// Pacer is one notifier's token bucket and in-flight cap. It is pure: the
// caller passes the clock reading and owns it (one goroutine at a time).
//
// A throttled answer halves both the cap and the rate (floor 1); each
// PaceRecoverEvery without one grows them by PaceRecoverShare (at least
// 1) until they are back at the configured values, when the bucket is
// lifted again if no Rate was configured.
type Pacer struct {
	cfg PaceConfig

	streams int     // what the connections allow; 0 = unknown
	limit   float64 // in-flight cap after halvings, ≤ cfg.MaxInFlight
	rate    float64 // current refill rate; 0 = no bucket
	ceiling float64 // rate at which a throttle-imposed bucket lifts
	tokens  float64
	filled  time.Time // last refill
	calm    time.Time // last throttle or growth step

	// secStart, secCount and prevCount count starts in the current and
	// the previous second: the observed rate a first throttle halves.
	secStart  time.Time
	secCount  int
	prevCount int
}

// NewPacer makes a pacer with a full bucket.
func NewPacer(cfg PaceConfig, now time.Time) *Pacer {
	cfg.MaxInFlight = max(cfg.MaxInFlight, 1)
	cfg.Rate = max(cfg.Rate, 0)
	p := &Pacer{cfg: cfg, limit: float64(cfg.MaxInFlight), rate: cfg.Rate,
		ceiling: cfg.Rate, filled: now, calm: now, secStart: now}
	p.tokens = p.burst()
	return p
}

func (p *Pacer) burst() float64 {
	if p.cfg.Burst > 0 {
		return p.cfg.Burst
	}
	return max(p.rate, 1)
}

// SetStreams records what the connections allow now; 0 means unknown.
func (p *Pacer) SetStreams(n int) { p.streams = max(n, 0) }

// InFlightCap is how many requests may run at once: the configured cap,
// halved by throttling, and no more than the connections' streams.
func (p *Pacer) InFlightCap() int {
	c := int(p.limit)
	if p.streams > 0 {
		c = min(c, p.streams)
	}
	return max(c, 1)
}

// Rate is the current refill rate in pushes per second, 0 when unpaced.
func (p *Pacer) Rate() float64 { return p.rate }

// Take asks to start one push at now. It returns 0 when a token was
// taken, else how long until one is due (nothing is taken then).
func (p *Pacer) Take(now time.Time) time.Duration {
	p.recover(now)
	if p.rate > 0 {
		p.refill(now)
		if p.tokens < 1 {
			need := (1 - p.tokens) / p.rate
			return max(time.Duration(need*float64(time.Second)), time.Millisecond)
		}
		p.tokens--
	}

	if now.Sub(p.secStart) >= time.Second {
		p.prevCount = p.secCount
		if now.Sub(p.secStart) >= 2*time.Second {
			p.prevCount = 0
		}
		p.secStart, p.secCount = now, 0
	}
	p.secCount++
	return 0
}

func (p *Pacer) refill(now time.Time) {
	el := now.Sub(p.filled)
	if el <= 0 {
		return
	}
	p.tokens = min(p.tokens+el.Seconds()*p.rate, p.burst())
	p.filled = now
}

// Throttled halves the cap and the rate after a throttled answer.
func (p *Pacer) Throttled(now time.Time) {
	p.recover(now)
	p.limit = max(math.Floor(p.limit/2), 1)

	if p.rate == 0 {
		// No bucket yet: start from what was really sent.
		observed := float64(max(p.secCount, p.prevCount, 1))
		p.ceiling = observed
		p.rate = observed
	} else {
		p.refill(now)
	}
	p.rate = max(math.Floor(p.rate/2), 1)
	p.tokens = min(p.tokens, p.burst())
	p.calm = now
}

// recover grows cap and rate for each calm period since the last throttle
// or growth.
func (p *Pacer) recover(now time.Time) {
	full := float64(p.cfg.MaxInFlight)
	for now.Sub(p.calm) >= PaceRecoverEvery {
		p.calm = p.calm.Add(PaceRecoverEvery)
		if p.limit >= full && (p.rate == 0 || p.rate >= p.ceiling) {
			p.calm = now
			break
		}
		p.limit = min(p.limit+max(p.limit*PaceRecoverShare, 1), full)
		if p.rate > 0 {
			p.refill(p.calm)
			p.rate += max(p.rate*PaceRecoverShare, 1)
			if p.rate >= p.ceiling {
				p.rate = p.cfg.Rate // back to the quota, or none
			}
		}
	}
}
