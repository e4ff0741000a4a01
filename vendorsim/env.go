package vendorsim

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// VendorEnv is what the simulator gives one vendor's handler: its clock,
// logger, recorder, faults, attempt memory and token issuers. Its methods
// are safe for concurrent use.
type VendorEnv struct {
	name     string
	sim      *Sim
	log      *slog.Logger
	attempts *Attempts

	mu      sync.Mutex
	issuers []*TokenIssuer // reset with the simulator
}

func newVendorEnv(s *Sim, name string) *VendorEnv {
	return &VendorEnv{
		name:     name,
		sim:      s,
		log:      s.log.With("vendor", name),
		attempts: &Attempts{vendor: name, mem: newAttemptMemory()},
	}
}

// Name is the vendor's name.
func (e *VendorEnv) Name() string { return e.name }

// Now is the simulator's clock.
func (e *VendorEnv) Now() time.Time { return e.sim.now() }

// Log is the simulator's logger with the vendor attached.
func (e *VendorEnv) Log() *slog.Logger { return e.log }

// Done closes when the simulator begins to close; delayed answers give up.
func (e *VendorEnv) Done() <-chan struct{} { return e.sim.done }

// Endpoint is the vendor's base URL, also its auth_endpoint.
func (e *VendorEnv) Endpoint() string { return e.sim.Endpoint(e.name) }

// Attempts is the vendor's memory of first attempts.
func (e *VendorEnv) Attempts() *Attempts { return e.attempts }

// Count changes the vendor's counters under the recorder's lock.
func (e *VendorEnv) Count(fn func(c *VendorCounters)) {
	e.sim.rec.update(e.name, fn)
}

// CountTokenFetch counts one access-token request (token_fetches).
func (e *VendorEnv) CountTokenFetch() {
	e.Count(func(c *VendorCounters) { c.TokenFetches++ })
}

// NewTokenIssuer makes an access-token store whose tokens live ttl (0 =
// DefaultTokenTTL); the simulator's Reset forgets its tokens.
func (e *VendorEnv) NewTokenIssuer(ttl time.Duration) *TokenIssuer {
	ti := newTokenIssuer(ttl, e.sim.now)
	e.mu.Lock()
	e.issuers = append(e.issuers, ti)
	e.mu.Unlock()
	return ti
}

// reset forgets attempts and issued tokens.
func (e *VendorEnv) reset() {
	e.attempts.mem.reset()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ti := range e.issuers {
		ti.reset()
	}
}

// Exchange is one request at a vendor, from Begin to Finish.
type Exchange struct {
	// Record is filled by Begin (vendor, method, path, headers, conn,
	// received_at); the vendor adds app, token, auth, payload and attempt.
	Record Record
	// Fault is what the global or per-vendor faults decided: an injected
	// error kind to answer with, a latency to add, and whether to record.
	Fault FaultDraw

	env      *VendorEnv
	finished bool
}

// Begin starts an exchange: it counts the request in flight and draws the
// faults. The handler must end it with Finish (or Abandon).
func (e *VendorEnv) Begin(r *http.Request) *Exchange {
	x := &Exchange{
		env: e,
		Record: Record{
			Vendor:     e.name,
			Method:     r.Method,
			Path:       r.URL.Path,
			Headers:    RecordHeaders(r.Header),
			ReceivedAt: e.sim.now(),
		},
		Fault: e.sim.faults.draw(e.name),
	}
	if c := connFrom(r.Context()); c != nil {
		x.Record.Conn = c.id
	}
	e.Count(func(vc *VendorCounters) {
		vc.InFlight++
		vc.PeakInFlight = max(vc.PeakInFlight, vc.InFlight)
	})
	return x
}

// Delay waits d plus the injected latency. It reports false when the
// client gave up or the simulator closes first: the answer is then lost.
func (x *Exchange) Delay(ctx context.Context, d time.Duration) bool {
	return x.env.sim.sleep(ctx, d+x.Fault.Delay)
}

// Hang blocks until the client gives up or the simulator closes.
func (x *Exchange) Hang(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-x.env.sim.done:
	}
}

// Abandon ends an exchange that gets no record, such as one whose body
// could not be read: it only leaves the in-flight gauge.
func (x *Exchange) Abandon() {
	if x.finished {
		return
	}
	x.finished = true
	x.env.Count(func(vc *VendorCounters) { vc.InFlight-- })
}

// Finish records the answer (status 0 for none), leaves the in-flight
// gauge and logs it. outcome is the Outcome* class the answer is meant to
// produce. Later calls do nothing.
func (x *Exchange) Finish(status int, code, outcome string) {
	if x.finished {
		return
	}
	x.finished = true
	r := &x.Record
	r.Status, r.VendorCode, r.Outcome = status, code, outcome
	r.AnsweredAt = x.env.sim.now()

	x.env.sim.rec.add(*r, !x.Fault.NoRecord)
	x.env.Count(func(vc *VendorCounters) { vc.InFlight-- })
	x.env.log.Debug("answer", "token", maskToken(r.Token), "conn", r.Conn,
		"status", status, "code", code, "attempt", r.Attempt)
}
