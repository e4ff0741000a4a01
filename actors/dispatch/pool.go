// Package dispatch runs Proto.Actor mailboxes on reused goroutines.
//
// Proto.Actor's default dispatcher starts a new goroutine every time a
// mailbox has work. Each one starts with a small stack that grows again
// through the actor's call chain (protobuf, Pebble, the HTTP/2 client), and
// on Herald's hot path that stack copying cost more than the pipeline's own
// decision. A Pool hands the work to a goroutine that is idle instead, and
// starts a new one only when none is.
//
// The hand-off is unbuffered, so work never waits for a busy goroutine: a
// mailbox that blocks (a grain waiting for a synced write) can never hold
// up another one, exactly as with the default dispatcher.
package dispatch

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Pool is an actor.Dispatcher over reused goroutines. Goroutines that found
// no work for IdleAfter exit, so the pool shrinks after a burst.
type Pool struct {
	// work hands a mailbox run to a goroutine that is waiting for one.
	work       chan func()
	throughput int
	idleAfter  time.Duration
}

var _ actor.Dispatcher = (*Pool)(nil)

// NewPool returns a pool whose mailboxes process up to throughput messages
// per run (Proto.Actor's default is 300) and whose goroutines exit after
// idleAfter without work.
func NewPool(throughput int, idleAfter time.Duration) *Pool {
	if throughput <= 0 {
		throughput = 300
	}
	if idleAfter <= 0 {
		idleAfter = 10 * time.Second
	}
	return &Pool{work: make(chan func()), throughput: throughput, idleAfter: idleAfter}
}

// Schedule runs fn on an idle goroutine of the pool, or on a new one.
func (p *Pool) Schedule(fn func()) {
	select {
	case p.work <- fn:
	default:
		go p.loop(fn)
	}
}

// Throughput is how many messages a mailbox processes per run.
func (p *Pool) Throughput() int { return p.throughput }

// loop runs fn, then whatever work is handed over, until it has been idle
// for idleAfter.
func (p *Pool) loop(fn func()) {
	fn()
	idle := time.NewTimer(p.idleAfter)
	defer idle.Stop()
	for {
		select {
		case fn := <-p.work:
			fn()
			idle.Reset(p.idleAfter)
		case <-idle.C:
			return
		}
	}
}
