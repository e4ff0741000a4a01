package persistence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrFenced means a newer activation of the register exists. The holder of
// the fenced lease must stop serving the key; the request that hit it may
// be retried, and will reach the newer activation.
var ErrFenced = errors.New("register fenced by a newer activation")

// Registers is what grains use to load and store their state. A grain
// activates its key once, then writes through the lease.
type Registers interface {
	// Activate takes over key: it fences every older activation and returns
	// a lease for writing plus the current value (nil if never written).
	Activate(ctx context.Context, key string) (Lease, []byte, error)
}

// Lease is one activation's right to write a register.
type Lease interface {
	// Write stores value; returns after it is durable on a majority (one,
	// locally). ErrFenced if a newer activation of the key exists (the
	// caller must stop).
	Write(ctx context.Context, value []byte) error
}

// maxPrepareAttempts bounds how often Activate retries Prepare when another
// activation raced it between reading the promise and preparing.
const maxPrepareAttempts = 8

// localRegisters is the register protocol on a ring of one: this node is
// the only acceptor, so its own answer is the majority.
type localRegisters struct {
	store *Store
	node  string
}

// NewLocalRegisters returns Registers backed by s alone; node is this
// node's stable name, which breaks ties between equal rounds.
func NewLocalRegisters(s *Store, node string) Registers {
	return &localRegisters{store: s, node: node}
}

func (r *localRegisters) Activate(ctx context.Context, key string) (Lease, []byte, error) {
	if r.store == nil {
		return nil, nil, errors.New("activate: store is nil")
	}
	if err := validateKey(key); err != nil {
		return nil, nil, fmt.Errorf("activate: %w", err)
	}

	// Prepare with a ballot above anything this acceptor has seen. Only a
	// concurrent activation can refuse it; then try above its ballot.
	seen, err := r.seen(key)
	if err != nil {
		return nil, nil, fmt.Errorf("activate %q: %w", key, err)
	}
	var (
		ballot  Ballot
		promise Promise
	)
	for attempt := 0; !promise.OK; attempt++ {
		if attempt == maxPrepareAttempts {
			return nil, nil, fmt.Errorf("activate %q: %d prepares refused: %w",
				key, attempt, ErrFenced)
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("activate %q: %w", key, err)
		}
		ballot = Ballot{Round: seen.Round + 1, Node: r.node}
		promise, err = r.store.Prepare(key, ballot)
		if err != nil {
			return nil, nil, fmt.Errorf("activate %q: %w", key, err)
		}
		seen = maxBallot(seen, promise.Promised)
	}

	// Write the adopted value back under our ballot. With replicas this
	// repairs the ones that lag; here it makes the value ours. A refusal
	// means an even newer activation prepared in between.
	var seq uint64
	if promise.Value != nil {
		seq = 1
		ok, promised, err := r.store.Accept(key, ballot, seq, promise.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("activate %q: %w", key, err)
		}
		if !ok {
			return nil, nil, fmt.Errorf("activate %q: promised %v: %w",
				key, promised, ErrFenced)
		}
	}
	lease := &localLease{store: r.store, key: key, ballot: ballot, seq: seq}
	return lease, promise.Value, nil
}

// seen returns the highest ballot the local acceptor knows for key.
func (r *localRegisters) seen(key string) (Ballot, error) {
	if r.node == "" {
		return Ballot{}, errors.New("node name is empty")
	}
	return r.store.Seen(key)
}

// localLease writes one key under the ballot its activation prepared.
type localLease struct {
	store  *Store
	key    string
	ballot Ballot

	// mu serializes writes: each takes the next seq, and a lower seq
	// arriving after a higher one would be acknowledged without effect.
	mu  sync.Mutex
	seq uint64 // the last seq handed out; guarded by mu

	// fenced is set once an Accept was refused; the lease stays dead.
	fenced atomic.Bool
}

func (l *localLease) Write(ctx context.Context, value []byte) error {
	if l.fenced.Load() {
		return fmt.Errorf("write %q: %w", l.key, ErrFenced)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write %q: %w", l.key, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	ok, promised, err := l.store.Accept(l.key, l.ballot, l.seq, value)
	if err != nil {
		return fmt.Errorf("write %q: %w", l.key, err)
	}
	if !ok {
		l.fenced.Store(true)
		return fmt.Errorf("write %q: ballot %v, promised %v: %w",
			l.key, l.ballot, promised, ErrFenced)
	}
	return nil
}
