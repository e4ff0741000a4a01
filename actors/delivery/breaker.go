package delivery

import (
	"time"

	"github.com/herald-im/herald/vendors"
)

// DefaultProbeInterval is how often an unhealthy notifier lets one push
// through to test its credentials (VENDORS.md §1.4).
const DefaultProbeInterval = 30 * time.Second

// breaker is a notifier's circuit of VENDORS.md §1.4: a credential error
// opens it, sends then fail fast, and every probe interval one push goes
// through as a probe; an answer that proves the credentials closes it. It
// is pure: callers pass the clock reading.
type breaker struct {
	interval time.Duration

	open      bool
	reason    string    // the credential error that opened it
	since     time.Time // when it opened
	nextProbe time.Time
	probing   bool // a probe is in flight
}

// allow reports whether a push may be sent at now, and whether it is the
// probe of an open circuit.
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	if !b.open {
		return true, false
	}
	if b.probing || now.Before(b.nextProbe) {
		return false, false
	}
	b.probing = true
	return true, true
}

// observe takes one attempt's class. It reports whether the circuit
// changed state.
func (b *breaker) observe(res vendors.Result, probe bool, now time.Time) bool {
	if probe {
		b.probing = false
	}
	switch res.Class {
	case vendors.CredentialError:
		b.nextProbe = now.Add(b.interval)
		if b.open {
			return false
		}
		b.open, b.since, b.reason = true, now, vendorReason(res)
		return true
	case vendors.Delivered, vendors.TokenInvalid, vendors.PayloadError:
		// The vendor took the credentials.
		if !b.open {
			return false
		}
		b.open, b.reason = false, ""
		return true
	}

	// Retryable or throttled: no verdict; a failed probe waits a period.
	if probe {
		b.nextProbe = now.Add(b.interval)
	}
	return false
}

// reset closes the circuit: the notifier's credentials changed.
func (b *breaker) reset() {
	*b = breaker{interval: b.interval}
}
