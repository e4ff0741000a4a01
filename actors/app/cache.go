package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/herald-im/herald/messages"
)

// Kind is the cluster kind of the app grain.
const Kind = "app"

// ErrNotFound is returned for an app that was never created.
var ErrNotFound = errors.New("app not found")

// Cache holds the latest known record of each app on this node.
//
// TODO: with several nodes a change made through another node's grain
// reaches this cache only when the entry is reloaded; cross-node
// invalidation belongs to the replicated cluster (issue 4).
type Cache struct {
	cluster *cluster.Cluster
	timeout time.Duration

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
	c.Put(appKey, ar.App)
	return ar.App, nil
}

// Put publishes rec as the current record of appKey. Older records (by
// modified time) never replace newer ones.
func (c *Cache) Put(appKey string, rec *messages.AppRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.records[appKey]; old != nil && old.Modified > rec.Modified {
		return
	}
	c.records[appKey] = rec
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

	reply, err := c.cluster.Request(appKey, Kind, req,
		cluster.WithTimeout(timeout), cluster.WithRetryCount(2))
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
