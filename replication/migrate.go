package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/herald-im/herald/ring"
)

// ErrIncomplete means some registers could not be copied (a replica was
// down or did not answer); the caller should try again later.
var ErrIncomplete = errors.New("copy incomplete")

// scanPage is how many keys one read of the local store returns.
const scanPage = 512

// copyParallelism bounds the copies in flight during a migration.
const copyParallelism = 16

// migrateStats counts what one migration (or a pass's copies) did.
type migrateStats struct {
	Scanned int // local registers looked at
	Copied  int // copies a new replica took (it lacked the value)
	Current int // copies a new replica already had
	Failed  int // copies that did not happen
}

// Migrate copies every local register whose replica set under to gained
// nodes compared with from onto those nodes (RegLearn, which never
// overwrites a newer value), and returns when done. ErrIncomplete if some
// copies failed; the ring should then not count this node as done. It is
// idempotent, so a failed run is simply run again. It has the shape of
// ring.MigrateFunc.
func (r *Registers) Migrate(ctx context.Context, from, to ring.View) error {
	stats, err := r.migrate(ctx, from, to)
	r.log.Info("registers copied for ring change", "epoch", to.Epoch,
		"scanned", stats.Scanned, "copied", stats.Copied, "current", stats.Current,
		"failed", stats.Failed)
	return err
}

// TODO: copy bare promises too. Only registers holding a value are
// copied; a promise with no value behind it (an activation of a register
// never written) stays on the old replicas, so after two ring changes in
// one lease's lifetime an older lease of an empty register could still
// get a write accepted by new replicas that never saw the newer promise.
func (r *Registers) migrate(ctx context.Context, from, to ring.View) (migrateStats, error) {
	var stats migrateStats
	if err := r.check("-"); err != nil {
		return stats, fmt.Errorf("migrate: %w", err)
	}
	self := r.peers.self
	c := newCopier(r, copyParallelism)

	after := ""
	for {
		page, err := r.peers.store.VersionsAfter(after, scanPage)
		if err != nil {
			c.wait()
			return c.stats(stats), fmt.Errorf("migrate: %w", err)
		}
		for _, kv := range page {
			stats.Scanned++
			was := ring.Rendezvous(from.Nodes, kv.Key, ring.ReplicationFactor)
			now := ring.Rendezvous(to.Nodes, kv.Key, ring.ReplicationFactor)
			for _, n := range now {
				if n.Name != self && !contains(was, n.Name) {
					c.copy(ctx, n, kv.Key)
				}
			}
		}
		if len(page) < scanPage {
			break
		}
		after = page[len(page)-1].Key
		if err := ctx.Err(); err != nil {
			c.wait()
			return c.stats(stats), fmt.Errorf("migrate: %w", err)
		}
	}
	c.wait()
	stats = c.stats(stats)
	if stats.Failed > 0 {
		return stats, fmt.Errorf("migrate: %d of %d copies failed: %w",
			stats.Failed, stats.Failed+stats.Copied+stats.Current, ErrIncomplete)
	}
	return stats, nil
}

// copier learns local values onto other nodes with bounded parallelism.
type copier struct {
	r   *Registers
	sem chan struct{}
	wg  sync.WaitGroup

	mu                      sync.Mutex
	copied, current, failed int
	firstErr                error
}

func newCopier(r *Registers, parallel int) *copier {
	return &copier{r: r, sem: make(chan struct{}, parallel)}
}

// copy sends the current local value of key to node. The value is read
// when the copy starts, so it is the newest this node has.
func (c *copier) copy(ctx context.Context, node ring.Node, key string) {
	if !c.r.peers.ring.Alive(node.Name) {
		c.done(false, fmt.Errorf("node %s: %w", node.Name, ErrNodeDown))
		return
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		c.done(false, ctx.Err())
		return
	}
	c.wg.Go(func() {
		defer func() { <-c.sem }()
		taken, err := c.learnOne(ctx, node, key)
		c.done(taken, err)
	})
}

func (c *copier) learnOne(ctx context.Context, node ring.Node, key string) (bool, error) {
	version, value, err := c.r.peers.store.Get(key)
	if err != nil || version.IsZero() {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	return c.r.peers.learn(ctx, node, key, version, value)
}

func (c *copier) done(taken bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		c.failed++
		if c.firstErr == nil {
			c.firstErr = err
			c.r.log.Warn("copy register", "err", err)
		}
	case taken:
		c.copied++
	default:
		c.current++
	}
}

func (c *copier) wait() {
	c.wg.Wait()
}

func (c *copier) stats(s migrateStats) migrateStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.Copied, s.Current, s.Failed = c.copied, c.current, c.failed
	return s
}
