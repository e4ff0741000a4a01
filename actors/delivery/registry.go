// Package delivery runs the delivery actors: one per (appkey, notifier
// name) per node, each owning the vendor client of its notifier. A user
// grain hands every push to Registry.Send and gets one SendOutcome back at
// the Send's reply_to; nothing here ever blocks the caller or an actor's
// mailbox on a vendor (DESIGN.md, Vendors).
//
// Each actor keeps a bounded queue (a full one answers "overloaded" at
// once), runs at most MaxInFlight vendor requests in goroutines that report
// back as messages, retries transient failures on timers within SPEC.md
// §2.6's budget, and stops itself when idle. It paces its notifier
// (VENDORS.md §1.5: token bucket, in-flight cap following the
// connections' streams, halving on throttling, daily-cap pauses), opens a
// circuit on credential errors and probes it closed (§1.4), and keeps
// bindings when ambiguous token-invalid answers dominate (§1.6); Health
// shows that state. Callers must not modify a Notifier or Send after
// handing it to Send.
package delivery

import (
	"cmp"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Defaults of Options.
const (
	DefaultMaxInFlight = 256
	DefaultQueueSize   = 10000
	DefaultIdleTimeout = 5 * time.Minute
	DefaultStopTimeout = 10 * time.Second
)

// Options configure a Registry. Zero fields take their defaults.
type Options struct {
	// MaxInFlight caps concurrent vendor requests per notifier (default
	// 256). Higher uses more streams; APNs announces 500 to 1500. The cap
	// in force is lower while the client's connections allow fewer
	// streams (vendors.StreamLimiter) or after throttled answers.
	MaxInFlight int
	// QueueSize caps sends waiting beyond the in-flight ones, retries
	// waiting for their timer included (default 10000). A full queue
	// answers overloaded at once instead of growing.
	QueueSize int
	// RootCAs verifies vendor servers; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	// Logger for lifecycle and failures; nil discards.
	Logger *slog.Logger
	// OnTokenInvalid is called, from the notifier's actor, when a vendor
	// says a token is invalid (and the unbind guard of VENDORS.md §1.6
	// agrees); the caller unbinds it. It must not block.
	OnTokenInvalid func(appKey, recipient string, u *messages.Unbind)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// IdleTimeout stops an actor (and closes its client) after this long
	// without messages (default 5 min).
	IdleTimeout time.Duration
	// RetryBaseDelay is the backoff unit of VENDORS.md §1.5 (default 1 s);
	// tests shorten it. Retry-After still applies.
	RetryBaseDelay time.Duration
	// RequestTimeout bounds one vendor request with its answer (default
	// 10 s).
	RequestTimeout time.Duration
	// StopTimeout bounds how long Stop waits for requests in flight
	// (default 10 s); then they are cancelled.
	StopTimeout time.Duration
	// Rand draws jitter in [0, 1); nil means math/rand/v2.
	Rand func() float64
	// Events receives one event per outcome; nil reports nothing. It
	// must not block (events.Sink's contract).
	Events events.Sink
	// Dispatcher runs the notifier actors' mailboxes; nil means
	// Proto.Actor's default (a new goroutine per run).
	Dispatcher actor.Dispatcher

	// NotifierRate is each notifier's quota in pushes per second; 0 (the
	// default) paces only after the vendor throttles (VENDORS.md §1.5).
	NotifierRate float64
	// ProbeInterval is how often an unhealthy notifier lets one push
	// through as a probe (default 30 s).
	ProbeInterval time.Duration
	// OnDailyCap is called, from the actor, when a notifier hits its
	// daily cap and pauses until until; the node tells the other nodes
	// (which call Registry.Pause). It must not block. nil: not told.
	OnDailyCap func(appKey, notifier string, until time.Time)
}

func (o *Options) setDefaults() {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.RootCAs == nil {
		o.RootCAs = vendors.TrustPool()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.RetryBaseDelay <= 0 {
		o.RetryBaseDelay = vendors.BaseDelay
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
}

// Registry finds or creates the delivery actor of a notifier.
type Registry struct {
	system *actor.ActorSystem
	opts   Options

	// mu guards the fields below. Send enqueues while holding it, so an
	// actor removed from actors has received every send meant for it
	// before its retire message.
	mu       sync.Mutex
	actors   map[string]*entry
	stopping bool
}

// entry is one live delivery actor; done closes when it has stopped.
type entry struct {
	pid    *actor.PID
	done   chan struct{}
	health *healthSlot
}

// NewRegistry makes a registry whose actors run in system.
func NewRegistry(system *actor.ActorSystem, opts Options) *Registry {
	opts.setDefaults()
	return &Registry{system: system, opts: opts, actors: map[string]*entry{}}
}

func actorKey(appKey, name string) string { return appKey + "\x00" + name }

// Send hands one push to the delivery actor of (appKey, n.Name), creating
// it on first use. n is the notifier as currently configured: when its
// Modified differs from the one the actor built its client from, the
// client is rebuilt before this push. The outcome goes to s.ReplyTo as a
// *messages.SendOutcome.
func (r *Registry) Send(appKey string, n *messages.Notifier, s *messages.Send) {
	if s == nil || s.ReplyTo == nil {
		r.opts.Logger.Warn("delivery send without reply_to dropped", "app", appKey)
		return
	}
	switch {
	case n == nil || n.Name == "" || appKey == "":
		r.reply(s, "", stopped(s, vendors.StatusFail, DetailNoNotifier, ""))
		return
	case !n.Enabled:
		r.reply(s, n.Provider, stopped(s, vendors.StatusFail, DetailDisabled, ""))
		return
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		r.reply(s, n.Provider, stopped(s, vendors.StatusError, DetailPushFailed,
			ReasonShuttingDown))
		return
	}
	key := actorKey(appKey, n.Name)
	e := r.actors[key]
	if e == nil {
		e = r.spawnLocked(key, appKey, n.Name)
		r.actors[key] = e
	}
	r.system.Root.Send(e.pid, &sendRequest{notifier: n, send: s})
}

func (r *Registry) spawnLocked(key, appKey, name string) *entry {
	done, health := make(chan struct{}), &healthSlot{}
	props := actor.PropsFromProducer(func() actor.Actor {
		return newNotifierActor(r, key, appKey, name, done, health)
	})
	if r.opts.Dispatcher != nil {
		props = props.Configure(actor.WithDispatcher(r.opts.Dispatcher))
	}
	return &entry{pid: r.system.Root.Spawn(props), done: done, health: health}
}

// Pause stops the notifier (appKey, name) on this node until until,
// answering its pushes error "daily cap" meanwhile: another node saw its
// daily cap (VENDORS.md §1.5). Bad input or a past until changes nothing.
func (r *Registry) Pause(appKey, name string, until time.Time) error {
	switch {
	case appKey == "":
		return fmt.Errorf("pause: app_key: %w", ErrEmpty)
	case name == "":
		return fmt.Errorf("pause: notifier: %w", ErrEmpty)
	case !until.After(r.opts.Now()):
		return fmt.Errorf("pause: until: %w", ErrPast)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return nil
	}
	key := actorKey(appKey, name)
	e := r.actors[key]
	if e == nil {
		e = r.spawnLocked(key, appKey, name)
		r.actors[key] = e
	}
	r.system.Root.Send(e.pid, &pauseNotifier{until: until, reason: ReasonDailyCap})
	return nil
}

// Input errors of Pause.
var (
	ErrEmpty = errors.New("must not be empty")
	ErrPast  = errors.New("must be in the future")
)

// Health lists the resilience state of every live delivery actor on this
// node, sorted by app and notifier. Actors that have not handled a push
// yet are left out.
func (r *Registry) Health() []NotifierHealth {
	now := r.opts.Now()
	r.mu.Lock()
	out := make([]NotifierHealth, 0, len(r.actors))
	for _, e := range r.actors {
		h := e.health.v.Load()
		if h == nil {
			continue
		}
		nh := *h
		if nh.State == StatePaused && !now.Before(nh.Until) {
			// The pause is over; the actor notices at its next push.
			nh.State, nh.Reason, nh.Until = StateHealthy, "", time.Time{}
		}
		out = append(out, nh)
	}
	r.mu.Unlock()

	slices.SortFunc(out, func(a, b NotifierHealth) int {
		return cmp.Or(cmp.Compare(a.AppKey, b.AppKey), cmp.Compare(a.Notifier, b.Notifier))
	})
	return out
}

// reply delivers an outcome to the Send's reply_to and reports it to the
// node's event sink (webhook, statistics). provider is "" when the
// notifier does not exist.
func (r *Registry) reply(s *messages.Send, provider string, o *messages.SendOutcome) {
	if r.opts.Events != nil {
		r.opts.Events.Emit(outcomeEvent(s, provider, o.Result, r.opts.Now()))
	}
	pid := actor.NewPID(s.ReplyTo.Address, s.ReplyTo.Id)
	r.system.Root.Send(pid, o)
}

// retire removes an idle actor so later sends make a new one, then tells
// it to stop once it has answered everything it holds.
func (r *Registry) retire(key string, pid *actor.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.actors[key]; e != nil && e.pid.Equal(pid) {
		delete(r.actors, key)
		r.system.Root.Send(pid, &retire{})
	}
}

// Stop stops every delivery actor. Sends waiting in queues or for a retry
// timer are answered error at once; requests in flight get StopTimeout to
// finish, then they are cancelled. Later sends are answered error.
func (r *Registry) Stop() {
	r.mu.Lock()
	r.stopping = true
	entries := make([]*entry, 0, len(r.actors))
	for _, e := range r.actors {
		entries = append(entries, e)
	}
	r.actors = map[string]*entry{}
	r.mu.Unlock()

	for _, e := range entries {
		r.system.Root.Send(e.pid, &shutdown{})
	}
	if r.waitAll(entries, r.opts.StopTimeout) {
		return
	}

	// Cancel what is still in flight; cancelled requests end at once.
	for _, e := range entries {
		r.system.Root.Send(e.pid, &abort{})
	}
	if !r.waitAll(entries, 2*time.Second) {
		r.opts.Logger.Warn("delivery actors did not stop in time")
	}
}

// waitAll waits until every entry is done or d passes.
func (r *Registry) waitAll(entries []*entry, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for _, e := range entries {
		select {
		case <-e.done:
		case <-deadline.C:
			return false
		}
	}
	return true
}
