package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/herald-im/herald/persistence"
	"github.com/herald-im/herald/ring"
)

// DefaultAntiEntropyInterval is how often a node compares its registers
// with the other replicas.
const DefaultAntiEntropyInterval = 30 * time.Second

// antiEntropyBatch is how many keys one RegVersions request compares.
const antiEntropyBatch = 256

// AntiEntropy finds replicas that fell behind (they were down, or missed
// a write that a quorum took without them) and copies the newer value
// onto them. Each node pushes only what it has newer, so every lagging
// replica is repaired by whichever replica is ahead.
type AntiEntropy struct {
	r        *Registers
	interval time.Duration
	log      *slog.Logger
	trigger  chan struct{}
}

// NewAntiEntropy returns the anti-entropy pass of r, to run every interval
// (DefaultAntiEntropyInterval if zero) once Run is called.
func NewAntiEntropy(r *Registers, interval time.Duration) (*AntiEntropy, error) {
	if r == nil {
		return nil, errors.New("anti-entropy: registers are nil")
	}
	if interval < 0 {
		return nil, fmt.Errorf("anti-entropy: interval %v is negative", interval)
	}
	if interval == 0 {
		interval = DefaultAntiEntropyInterval
	}
	return &AntiEntropy{
		r:        r,
		interval: interval,
		log:      r.log.With("component", "anti-entropy"),
		trigger:  make(chan struct{}, 1),
	}, nil
}

// Run passes every interval, and soon after Trigger, until ctx ends.
func (a *AntiEntropy) Run(ctx context.Context) {
	ticker := time.NewTicker(a.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-a.trigger:
		}
		stats, err := a.Pass(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("anti-entropy pass", "err", err, "compared", stats.Compared,
				"repaired", stats.Repaired, "failed", stats.Failed)
		case stats.Repaired > 0:
			a.log.Info("anti-entropy repaired replicas", "compared", stats.Compared,
				"repaired", stats.Repaired)
		}
	}
}

// Trigger asks Run for a pass now, as after a node rejoined.
func (a *AntiEntropy) Trigger() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// PassStats counts what one anti-entropy pass did.
type PassStats struct {
	Compared int // (key, replica) pairs compared
	Repaired int // copies a lagging replica took
	Failed   int // comparisons or copies that did not happen
}

// Pass compares every local register with its other live replicas, in
// batches per replica, and copies the local value onto each replica that
// holds an older version.
func (a *AntiEntropy) Pass(ctx context.Context) (PassStats, error) {
	var stats PassStats
	if err := a.r.check("-"); err != nil {
		return stats, fmt.Errorf("anti-entropy: %w", err)
	}
	p := &pass{a: a, batches: map[string]*peerBatch{}, copier: newCopier(a.r, copyParallelism)}

	after := ""
	for {
		page, err := a.r.peers.store.VersionsAfter(after, scanPage)
		if err != nil {
			return p.finish(), fmt.Errorf("anti-entropy: %w", err)
		}
		for _, kv := range page {
			p.add(ctx, kv)
		}
		if len(page) < scanPage {
			break
		}
		after = page[len(page)-1].Key
		if err := ctx.Err(); err != nil {
			return p.finish(), fmt.Errorf("anti-entropy: %w", err)
		}
	}
	for _, b := range p.batches {
		p.compare(ctx, b)
	}
	stats = p.finish()
	if stats.Failed > 0 {
		return stats, fmt.Errorf("anti-entropy: %d failed: %w", stats.Failed, ErrIncomplete)
	}
	return stats, nil
}

// pass is the state of one anti-entropy pass.
type pass struct {
	a        *AntiEntropy
	batches  map[string]*peerBatch // node name → keys to compare
	copier   *copier
	compared int
	failed   int
}

type peerBatch struct {
	node ring.Node
	keys []persistence.KeyVersion
}

// add queues a local key for comparison with each of its other replicas.
func (p *pass) add(ctx context.Context, kv persistence.KeyVersion) {
	self := p.a.r.peers.self
	current, previous := p.a.r.peers.ring.View().Replicas(kv.Key)
	for _, n := range union(current, previous) {
		if n.Name == self || !p.a.r.peers.ring.Alive(n.Name) {
			continue
		}
		b := p.batches[n.Name]
		if b == nil {
			b = &peerBatch{node: n}
			p.batches[n.Name] = b
		}
		b.keys = append(b.keys, kv)
		if len(b.keys) == antiEntropyBatch {
			p.compare(ctx, b)
		}
	}
}

// compare asks one replica for its versions of a batch of keys and copies
// the local value of every key where the replica is behind.
func (p *pass) compare(ctx context.Context, b *peerBatch) {
	if len(b.keys) == 0 {
		return
	}
	keys := make([]string, len(b.keys))
	for i, kv := range b.keys {
		keys[i] = kv.Key
	}
	rctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	theirs, err := p.a.r.peers.versions(rctx, b.node, keys)
	cancel()
	if err != nil {
		p.failed += len(keys)
		p.a.log.Debug("compare versions", "node", b.node.Name, "err", err)
	} else {
		p.compared += len(keys)
		for i, kv := range b.keys {
			if theirs[i].Less(kv.Version) {
				p.copier.copy(ctx, b.node, kv.Key)
			}
		}
	}
	b.keys = b.keys[:0]
}

func (p *pass) finish() PassStats {
	p.copier.wait()
	s := p.copier.stats(migrateStats{})
	return PassStats{Compared: p.compared, Repaired: s.Copied, Failed: p.failed + s.Failed}
}
