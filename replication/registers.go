package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/herald-im/herald/persistence"
	"github.com/herald-im/herald/ring"
)

// ErrNoQuorum means too few replicas answered before the deadline, or too
// many are down. Nothing is known to be fenced: the caller may retry.
var ErrNoQuorum = errors.New("no quorum of replicas")

// DefaultTimeout bounds an operation whose context has no deadline (grains
// pass context.Background()).
const DefaultTimeout = 5 * time.Second

// maxPrepareAttempts bounds how often Activate prepares again after a
// replica refused because a concurrent activation prepared higher.
const maxPrepareAttempts = 8

// Registers implements persistence.Registers over the ring. It also
// forwards soft state to the other replicas (PutSoft) and copies
// registers after ring changes (Migrate).
type Registers struct {
	peers peers
	log   *slog.Logger
	soft  *softForwarder
}

var _ persistence.Registers = (*Registers)(nil)

// NewRegisters returns the replicated registers of this node. store is the
// node's own replica; src says where each key lives. Close stops the soft
// state forwarder.
func NewRegisters(system *actor.ActorSystem, store *persistence.Store, src RingSource,
	logger *slog.Logger) *Registers {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Registers{
		peers: peers{system: system, store: store, ring: src},
		log:   logger,
	}
	if src != nil {
		r.peers.self = src.Self().Name
	}
	r.soft = newSoftForwarder(&r.peers, logger, softFlushInterval)
	return r
}

// Close flushes pending soft state to the replicas and stops forwarding.
func (r *Registers) Close() {
	r.soft.close()
}

func (r *Registers) check(key string) error {
	if r.peers.system == nil {
		return errors.New("actor system is nil")
	}
	if r.peers.store == nil {
		return errors.New("store is nil")
	}
	if r.peers.ring == nil {
		return errors.New("ring source is nil")
	}
	if r.peers.self == "" {
		return errors.New("node name is empty")
	}
	if key == "" {
		return errors.New("key is empty")
	}
	if len(key) > persistence.MaxKeyLen {
		return fmt.Errorf("key is %d bytes, max %d", len(key), persistence.MaxKeyLen)
	}
	return nil
}

// withDeadline gives ctx the default deadline if it has none.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// replicas returns key's replica sets under the current view.
func (r *Registers) replicas(key string) (current, previous []ring.Node, err error) {
	current, previous = r.peers.ring.View().Replicas(key)
	if len(current) == 0 {
		return nil, nil, errors.New("ring is empty")
	}
	return current, previous, nil
}

// Activate takes over key: it prepares a ballot above any a replica has
// seen, adopts the newest value of a quorum and writes it back under its
// own ballot, which repairs the replicas it reaches and fences every older
// activation.
func (r *Registers) Activate(ctx context.Context, key string) (persistence.Lease, []byte, error) {
	if err := r.check(key); err != nil {
		return nil, nil, fmt.Errorf("activate: %w", err)
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	current, previous, err := r.replicas(key)
	if err != nil {
		return nil, nil, fmt.Errorf("activate %q: %w", key, err)
	}

	self := r.peers.self
	seen, err := r.peers.store.Seen(key)
	if err != nil {
		return nil, nil, fmt.Errorf("activate %q: %w", key, err)
	}
	var won prepared
	for attempt := 0; ; attempt++ {
		if attempt == maxPrepareAttempts {
			return nil, nil, fmt.Errorf("activate %q: %d prepares refused: %w",
				key, attempt, persistence.ErrFenced)
		}
		ballot := persistence.Ballot{Round: seen.Round + 1, Node: self}
		won, err = r.prepare(ctx, key, ballot, current, previous)
		if err != nil {
			return nil, nil, fmt.Errorf("activate %q: %w", key, err)
		}
		if won.ok {
			break
		}
		seen = won.refusedBy
	}

	lease := &lease{r: r, key: key, ballot: won.ballot}
	if won.value == nil {
		return lease, nil, nil
	}
	lease.seq = 1
	if err := lease.accept(ctx, 1, won.value); err != nil {
		return nil, nil, fmt.Errorf("activate %q: write back: %w", key, err)
	}
	return lease, won.value, nil
}

// prepared is the outcome of one Prepare round.
type prepared struct {
	ok        bool
	ballot    persistence.Ballot
	refusedBy persistence.Ballot // the highest promise seen, when refused
	version   persistence.Version
	value     []byte // newest value of the quorum; nil if none
}

// prepare runs one Prepare round. It returns ok with the newest value once
// a quorum promised; not ok with the highest competing ballot once
// refusals made the quorum impossible; ErrNoQuorum when failures did.
func (r *Registers) prepare(ctx context.Context, key string, ballot persistence.Ballot,
	current, previous []ring.Node) (prepared, error) {
	nodes := union(current, previous)
	votes := broadcast(ctx, nodes, r.peers.self,
		func(ctx context.Context, n ring.Node) (persistence.Promise, error) {
			return r.peers.prepare(ctx, n, key, ballot)
		})
	t := newTally(current, previous)
	out := prepared{ballot: ballot, refusedBy: ballot}
	refused, failures := 0, []error(nil)
	for range nodes {
		var v vote[persistence.Promise]
		select {
		case v = <-votes:
		case <-ctx.Done():
			return prepared{}, fmt.Errorf("prepare: %w: %w", ErrNoQuorum, ctx.Err())
		}
		switch {
		case v.err != nil:
			failures = append(failures, v.err)
			t.record(v.node, false)
		case !v.reply.OK:
			refused++
			out.refusedBy = maxBallot(out.refusedBy, v.reply.Promised)
			t.record(v.node, false)
		default:
			t.record(v.node, true)
			got := persistence.Version{Ballot: v.reply.Accepted, Seq: v.reply.Seq}
			if v.reply.Value != nil && (out.value == nil || out.version.Less(got)) {
				out.version, out.value = got, v.reply.Value
			}
		}
		if t.reached() {
			out.ok = true
			return out, nil
		}
		if t.lost() {
			break
		}
	}
	if refused > 0 {
		return out, nil
	}
	return prepared{}, fmt.Errorf("prepare: %w: %w", ErrNoQuorum, errors.Join(failures...))
}

func maxBallot(a, b persistence.Ballot) persistence.Ballot {
	if a.Less(b) {
		return b
	}
	return a
}

// lease is one activation's right to write a register.
type lease struct {
	r      *Registers
	key    string
	ballot persistence.Ballot

	// mu serializes writes: each takes the next seq, and an older seq that
	// arrived after a newer one would be acknowledged without effect.
	mu  sync.Mutex
	seq uint64 // the last seq handed out; guarded by mu

	fenced atomic.Bool // set once a replica refused; the lease stays dead
}

// Write stores value as the lease's next write and returns once a quorum
// fsynced it. ErrFenced if a replica promised a newer ballot; ErrNoQuorum
// (retryable) if too few replicas answered in time.
func (l *lease) Write(ctx context.Context, value []byte) error {
	if l.fenced.Load() {
		return fmt.Errorf("write %q: %w", l.key, persistence.ErrFenced)
	}
	if len(value) > persistence.MaxValueLen {
		return fmt.Errorf("write %q: value is %d bytes, max %d", l.key, len(value),
			persistence.MaxValueLen)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write %q: %w", l.key, err)
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	if err := l.accept(ctx, l.seq, value); err != nil {
		return fmt.Errorf("write %q: %w", l.key, err)
	}
	return nil
}

// accept sends write seq to every replica and waits for a quorum. Any
// refusal fences the lease: a newer activation prepared.
func (l *lease) accept(ctx context.Context, seq uint64, value []byte) error {
	current, previous, err := l.r.replicas(l.key)
	if err != nil {
		return err
	}
	nodes := union(current, previous)
	votes := broadcast(ctx, nodes, l.r.peers.self,
		func(ctx context.Context, n ring.Node) (acceptReply, error) {
			return l.r.peers.accept(ctx, n, l.key, l.ballot, seq, value)
		})
	t := newTally(current, previous)
	var failures []error
	for range nodes {
		var v vote[acceptReply]
		select {
		case v = <-votes:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoQuorum, ctx.Err())
		}
		switch {
		case v.err != nil:
			failures = append(failures, v.err)
			t.record(v.node, false)
		case !v.reply.ok:
			l.fenced.Store(true)
			return fmt.Errorf("ballot %v, %s promised %v: %w", l.ballot, v.node,
				v.reply.promised, persistence.ErrFenced)
		default:
			t.record(v.node, true)
		}
		if t.reached() {
			return nil
		}
		if t.lost() {
			break
		}
	}
	return fmt.Errorf("%w: %w", ErrNoQuorum, errors.Join(failures...))
}
