package replication

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/ring"
)

// Soft state travels to the other replicas in batches: every
// softFlushInterval, or sooner when a node has softBatchSize keys waiting.
// Only the latest value of a key is kept, and at most softMaxPending keys
// wait per node; beyond that new keys are dropped, as a crash would lose
// them.
const (
	softFlushInterval = 100 * time.Millisecond
	softBatchSize     = 256
	softMaxPending    = 16384
)

// TODO: anti-entropy does not compare soft state, and nothing reads it
// from the replicas: a grain activated on a node that missed a batch (or
// is not a replica) starts from its local copy.

// PutSoft stores a soft-state value on this node without waiting for
// fsync, then queues it for the key's other replicas, which receive it in
// a batch within about softFlushInterval. It never waits for the network.
func (r *Registers) PutSoft(key string, value []byte) error {
	if err := r.check(key); err != nil {
		return fmt.Errorf("put soft: %w", err)
	}
	if err := r.peers.store.PutSoft(key, value); err != nil {
		return err
	}
	current, previous := r.peers.ring.View().Replicas(key)
	others := without(union(current, previous), r.peers.self)
	r.soft.add(others, key, value)
	return nil
}

// SoftDropped reports how many soft-state values were not forwarded to a
// replica (queue full or replica dead); anti-entropy does not repair them.
func (r *Registers) SoftDropped() int64 {
	return r.soft.dropped.Load()
}

// softForwarder batches soft-state values per destination node.
type softForwarder struct {
	peers    *peers
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	pending map[string]*softQueue // node name → queued values
	closed  bool

	kick    chan struct{} // a queue reached softBatchSize
	stop    chan struct{}
	done    chan struct{}
	dropped atomic.Int64 // values dropped for a full queue or a dead node
}

type softQueue struct {
	node   ring.Node
	values map[string][]byte
}

func newSoftForwarder(p *peers, logger *slog.Logger, interval time.Duration) *softForwarder {
	f := &softForwarder{
		peers:    p,
		log:      logger,
		interval: interval,
		pending:  map[string]*softQueue{},
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go f.loop()
	return f
}

func (f *softForwarder) add(nodes []ring.Node, key string, value []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	full := false
	for _, n := range nodes {
		q := f.pending[n.Name]
		if q == nil {
			q = &softQueue{node: n, values: map[string][]byte{}}
			f.pending[n.Name] = q
		}
		q.node = n // the latest address wins
		if _, queued := q.values[key]; !queued && len(q.values) >= softMaxPending {
			f.dropped.Add(1)
			continue
		}
		q.values[key] = value
		full = full || len(q.values) >= softBatchSize
	}
	if full {
		select {
		case f.kick <- struct{}{}:
		default:
		}
	}
}

func (f *softForwarder) loop() {
	defer close(f.done)
	ticker := time.NewTicker(f.interval)
	defer ticker.Stop()
	for {
		select {
		case <-f.stop:
			f.flush()
			return
		case <-ticker.C:
		case <-f.kick:
		}
		f.flush()
	}
}

// flush sends everything queued, in batches of softBatchSize.
func (f *softForwarder) flush() {
	f.mu.Lock()
	queues := f.pending
	f.pending = map[string]*softQueue{}
	f.mu.Unlock()

	for _, q := range queues {
		batch := &messages.RegPutSoft{}
		for key, value := range q.values {
			batch.Entries = append(batch.Entries, &messages.RegSoftEntry{Key: key, Value: value})
			if len(batch.Entries) == softBatchSize {
				f.send(q.node, batch)
				batch = &messages.RegPutSoft{}
			}
		}
		if len(batch.Entries) > 0 {
			f.send(q.node, batch)
		}
	}
}

func (f *softForwarder) send(node ring.Node, batch *messages.RegPutSoft) {
	if f.peers.putSoft(node, batch) {
		return
	}
	if f.dropped.Add(int64(len(batch.Entries))) == int64(len(batch.Entries)) {
		f.log.Info("soft state not forwarded to a dead replica", "node", node.Name,
			"values", len(batch.Entries))
	}
}

func (f *softForwarder) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	close(f.stop)
	<-f.done
}
