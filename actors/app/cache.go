package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/messages"
)

// Kind is the cluster kind of the app grain.
const Kind = "app"

// ErrNotFound is returned for an app that was never created.
var ErrNotFound = errors.New("app not found")

// Cache holds the latest known record of each app on this node. A change
// the app grain publishes with Put is also sent to the caches of the other
// nodes (see sync.go), so every node pushes with the current notifiers and
// settings.
type Cache struct {
	cluster *cluster.Cluster
	timeout time.Duration

	// peers holds the remote addresses of the other members, from the
	// last topology Proto.Actor published; changes are sent to them.
	peers atomic.Pointer[[]string]

	mu sync.RWMutex
	// records maps appkey to its latest record; values are never mutated.
	records map[string]*messages.AppRecord
}

// NewCache returns an empty cache that loads missing apps from their
// grains through c, waiting at most timeout for each.
func NewCache(c *cluster.Cluster, timeout time.Duration) *Cache {
	return &Cache{cluster: c, timeout: timeout, records: map[string]*messages.AppRecord{}}
}

// SetCluster names the cluster the cache loads through; the node sets it
// once, after the cluster exists and before any grain runs.
func (c *Cache) SetCluster(cl *cluster.Cluster) { c.cluster = cl }

// Peek returns the cached record of appKey, or nil without loading it.
func (c *Cache) Peek(appKey string) *messages.AppRecord {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.records[appKey]
}

// Get returns the record of appKey, loading it from its grain when this
// node has not seen it yet. A missing app returns ErrNotFound.
func (c *Cache) Get(ctx context.Context, appKey string) (*messages.AppRecord, error) {
	if rec := c.Peek(appKey); rec != nil {
		return rec, nil
	}

	reply, err := c.Request(ctx, appKey, &messages.GetApp{})
	if err != nil {
		return nil, err
	}
	ar, ok := reply.(*messages.AppReply)
	if !ok {
		return nil, fmt.Errorf("load app %q: unexpected reply %T", appKey, reply)
	}
	if ar.Error != nil {
		if ar.Error.Code == "not_found" {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("load app %q: %s", appKey, ar.Error.Description)
	}
	c.store(appKey, ar.App)
	return ar.App, nil
}

// Put publishes rec as the current record of appKey, here and on the
// other nodes; the app grain calls it after every change. Older records
// (by modified time) never replace newer ones.
func (c *Cache) Put(appKey string, rec *messages.AppRecord) {
	if c.store(appKey, rec) {
		c.broadcast(rec)
	}
}

// store keeps rec unless a newer record is held; it reports whether it
// kept it.
func (c *Cache) store(appKey string, rec *messages.AppRecord) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.records[appKey]; old != nil && old.Modified > rec.Modified {
		return false
	}
	c.records[appKey] = rec
	return true
}

// Request sends req to the grain of appKey and returns its reply, waiting
// no longer than ctx allows or the cache's timeout.
func (c *Cache) Request(ctx context.Context, appKey string, req any) (any, error) {
	timeout := c.timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := membership.Request(ctx, c.cluster, appKey, Kind, req)
	if err != nil {
		return nil, fmt.Errorf("request app %q: %w", appKey, err)
	}
	return reply, nil
}

// All returns every record this node holds, keyed by appkey, without
// loading anything. The map is the caller's; the records are shared and
// must not be modified.
func (c *Cache) All() map[string]*messages.AppRecord {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]*messages.AppRecord, len(c.records))
	for k, rec := range c.records {
		out[k] = rec
	}
	return out
}
