package delivery

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/herald-im/herald/vendors"
)

// Reasons of the outcomes that resilience gives without asking a vendor.
const (
	// ReasonUnhealthy: the notifier's circuit is open after a credential
	// error (VENDORS.md §1.4).
	ReasonUnhealthy = "notifier unhealthy"
	// ReasonDailyCap: the notifier's daily quota is spent (§1.5).
	ReasonDailyCap = "daily cap"
)

// Notifier states of NotifierHealth.
const (
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy"
	StatePaused    = "paused"
)

// guardAlertEvery rate-limits the unbind guard's alert per notifier.
const guardAlertEvery = 5 * time.Minute

// shanghai is the day boundary of OPPO's and vivo's daily caps (no
// daylight saving).
var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// nextShanghaiMidnight is when a daily cap seen at now ends.
func nextShanghaiMidnight(now time.Time) time.Time {
	t := now.In(shanghai)
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, shanghai)
}

// dailyCap reports a throttled answer that is a daily quota.
func dailyCap(provider string, res vendors.Result) bool {
	if res.Class != vendors.Throttled {
		return false
	}
	return provider == "oppo" && res.Reason == "33" ||
		provider == "vivo" && res.Reason == "10070"
}

// NotifierHealth is one delivery actor's resilience state, for /readyz,
// metrics and heraldctl.
type NotifierHealth struct {
	AppKey   string `json:"app_key"`
	Notifier string `json:"notifier"`
	Provider string `json:"provider"`
	// State is healthy, unhealthy (circuit open) or paused (daily cap).
	State string `json:"state"`
	// Reason is the credential error or "daily cap"; "" when healthy.
	Reason string `json:"reason,omitempty"`
	// Since is when the state began; zero when healthy.
	Since time.Time `json:"since,omitzero"`
	// Until is the end of a pause, or the next probe of an open circuit.
	Until time.Time `json:"until,omitzero"`
	// InFlightCap and Rate are the pacer's current caps; Rate 0 = none.
	InFlightCap int     `json:"in_flight_cap"`
	Rate        float64 `json:"rate"`
}

// healthSlot holds the latest published NotifierHealth of one actor.
type healthSlot struct {
	v atomic.Pointer[NotifierHealth]
}

// pump starts queued jobs while the notifier may send: it answers them at
// once while paused or unhealthy, and otherwise starts as many as the
// pacer's cap and bucket allow, arming a timer for the next token.
func (a *notifierActor) pump(c actor.Context) {
	now := a.opts.Now()
	a.endPauseIfDue(now)
	a.pacer.SetStreams(a.streams())

	for len(a.queue) > 0 {
		j := a.queue[0]
		if !a.pausedUntil.IsZero() {
			a.pop()
			a.reg.reply(j.send, a.provider, stopped(j.send, vendors.StatusError,
				DetailPushFailed, ReasonDailyCap))
			continue
		}
		ok, probe := a.circuit.allow(now)
		if !ok {
			a.pop()
			a.reg.reply(j.send, a.provider, stopped(j.send, vendors.StatusFail,
				DetailPushFailed, ReasonUnhealthy))
			continue
		}
		if a.inFlight >= a.pacer.InFlightCap() {
			a.unprobe(probe)
			break
		}
		if wait := a.pacer.Take(now); wait > 0 {
			a.unprobe(probe)
			a.armPace(c, wait)
			break
		}
		a.pop()
		j.probe = probe
		a.start(c, j)
	}
	if len(a.queue) == 0 {
		a.queue = nil // let a drained backlog's array go
	}
	if s, ok := a.client.(vendors.Saturator); ok {
		s.Saturated(len(a.queue) > 0 && a.inFlight >= a.pacer.InFlightCap())
	}
	a.publish()
}

// oemStreams is the in-flight limit of vendors that announce none:
// VENDORS.md §2 treats the OEM vendors as 16 concurrent requests per
// notifier per node.
const oemStreams = 16

// streams is what the notifier's connections allow now: the client's own
// figure when it tracks one, 16 for OEM vendors, else 0 (unknown).
func (a *notifierActor) streams() int {
	if sl, ok := a.client.(vendors.StreamLimiter); ok {
		return sl.Streams()
	}
	switch a.provider {
	case "", "apns", "apns-voip", "fcm":
		return 0
	}
	return oemStreams
}

// unprobe gives back a probe turn that did not start.
func (a *notifierActor) unprobe(probe bool) {
	if probe {
		a.circuit.probing = false
	}
}

func (a *notifierActor) pop() {
	a.queue[0] = nil
	a.queue = a.queue[1:]
}

// armPace wakes pump after d unless a wake-up is already set.
func (a *notifierActor) armPace(c actor.Context, d time.Duration) {
	if a.paceTimer != nil {
		return
	}
	self, system := c.Self(), c.ActorSystem()
	a.paceTimer = time.AfterFunc(max(d, time.Millisecond), func() {
		system.Root.Send(self, &paceDue{})
	})
}

// learn lets pacing, the circuit and the unbind guard see one attempt's
// answer, and returns the answer as the actor will treat it.
func (a *notifierActor) learn(j *job, res vendors.Result) vendors.Result {
	now := a.opts.Now()

	// §1.6: dominating BadDeviceToken / 80300007 answers are a config
	// mix-up, not dead tokens: keep the bindings.
	ambiguous := ambiguousInvalid(a.provider, res)
	if a.guard.observe(now, ambiguous) && ambiguous {
		res.Class, res.Reason = vendors.CredentialError, ReasonMismatch
		if now.Sub(a.lastAlert) >= guardAlertEvery || a.lastAlert.IsZero() {
			a.lastAlert = now
			a.log.Error("token-invalid answers dominate: environment or app mismatch; "+
				"bindings kept", "provider", a.provider)
		}
	}

	if res.Class == vendors.Throttled {
		a.pacer.Throttled(now)
		if dailyCap(a.provider, res) {
			until := nextShanghaiMidnight(now)
			a.pause(until, ReasonDailyCap)
			if a.opts.OnDailyCap != nil {
				a.opts.OnDailyCap(a.appKey, a.name, until)
			}
		}
	}

	if a.circuit.observe(res, j.probe, now) {
		if a.circuit.open {
			a.log.Warn("notifier unhealthy", "reason", a.circuit.reason)
		} else {
			a.log.Info("notifier healthy again")
		}
	}
	return res
}

// pause stops sending until until; queued pushes are answered at once.
func (a *notifierActor) pause(until time.Time, reason string) {
	if !until.After(a.opts.Now()) || !until.After(a.pausedUntil) {
		return
	}
	if a.pausedUntil.IsZero() {
		a.log.Warn("notifier paused", "reason", reason, "until", until)
	}
	a.pausedUntil, a.pauseReason = until, reason
}

func (a *notifierActor) endPauseIfDue(now time.Time) {
	if !a.pausedUntil.IsZero() && !now.Before(a.pausedUntil) {
		a.pausedUntil, a.pauseReason = time.Time{}, ""
		a.log.Info("notifier pause ended")
	}
}

// publish makes the current state visible to Registry.Health when it
// changed.
func (a *notifierActor) publish() {
	h := NotifierHealth{AppKey: a.appKey, Notifier: a.name, Provider: a.provider,
		State: StateHealthy, InFlightCap: a.pacer.InFlightCap(), Rate: a.pacer.Rate()}
	switch {
	case !a.pausedUntil.IsZero():
		h.State, h.Reason, h.Until = StatePaused, a.pauseReason, a.pausedUntil
	case a.circuit.open:
		h.State, h.Reason = StateUnhealthy, a.circuit.reason
		h.Since, h.Until = a.circuit.since, a.circuit.nextProbe
	}
	if old := a.health.v.Load(); old != nil && *old == h {
		return
	}
	a.health.v.Store(&h)
}
