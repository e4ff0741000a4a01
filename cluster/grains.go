package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
)

// Grain calls that respect the caller. Proto.Actor's own lookup waits its
// fixed 5 s whatever the caller's deadline, and a request to a member that
// just died waits out its whole timeout. Every grain call Herald makes goes
// through Lookup or Request instead, which give up at the caller's
// deadline and refuse at once to address a member gossip reports dead.

var (
	// ErrMemberDown: the grain's activation lives on a member that gossip
	// reports dead, so nothing was sent.
	ErrMemberDown = errors.New("grain's member is down")

	// ErrNoActivation: the cluster found no place for the grain (no
	// member hosts its kind, or the lookup failed).
	ErrNoActivation = errors.New("no activation for grain")

	// ErrNoDeadline: a grain call was made without a deadline.
	ErrNoDeadline = errors.New("grain call has no deadline")
)

// Alive reports whether address (a Proto.Actor remote host:port) may be
// sent to: false only when it belongs to a node gossip reports dead.
// Unknown addresses (clients, nodes not met yet) count as alive, since
// the request's own timeout still bounds them. It is cheap: one pass over
// the few known nodes under a mutex.
func (p *Provider) Alive(address string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started && address == metaAddress(p.self) {
		return true
	}
	alive, known := true, false
	for _, v := range p.nodes {
		if v.metaErr != nil || metaAddress(v.meta) != address {
			continue
		}
		// A restarted node may show up under a new name on an old
		// address; any live holder of the address wins.
		if v.alive {
			return true
		}
		alive, known = false, true
	}
	return alive || !known
}

func metaAddress(m nodeMeta) string {
	return fmt.Sprintf("%s:%d", m.Host, m.Port)
}

// addressAlive asks c's provider, when it is ours, whether address is alive.
func addressAlive(c *protocluster.Cluster, address string) bool {
	p, ok := c.Config.ClusterProvider.(*Provider)
	if !ok {
		return true
	}
	return p.Alive(address)
}

// Lookup returns the PID of the grain (identity, kind), activating it if
// needed. A cached PID is returned at once; otherwise Proto.Actor's
// lookup runs on its own goroutine (which ends by its own timeout) and
// Lookup returns when it answers or when ctx ends, whichever is first.
// A PID on a member gossip reports dead is dropped from the cache and
// reported as ErrMemberDown.
func Lookup(ctx context.Context, c *protocluster.Cluster, identity, kind string) (*actor.PID,
	error) {
	if pid, ok := c.PidCache.Get(identity, kind); ok && pid != nil {
		return checkAlive(c, identity, kind, pid)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("look up %s/%s: %w", kind, identity, err)
	}

	found := make(chan *actor.PID, 1)
	go func() { found <- c.Get(identity, kind) }()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("look up %s/%s: %w", kind, identity, ctx.Err())
	case pid := <-found:
		if pid == nil {
			return nil, fmt.Errorf("look up %s/%s: %w", kind, identity, ErrNoActivation)
		}
		c.PidCache.Set(identity, kind, pid)
		return checkAlive(c, identity, kind, pid)
	}
}

func checkAlive(c *protocluster.Cluster, identity, kind string, pid *actor.PID) (*actor.PID,
	error) {
	if addressAlive(c, pid.Address) {
		return pid, nil
	}
	c.PidCache.RemoveByValue(identity, kind, pid)
	return nil, fmt.Errorf("grain %s/%s at %s: %w", kind, identity, pid.Address, ErrMemberDown)
}

// Request sends msg to the grain (identity, kind) and waits for its reply
// no longer than ctx allows; ctx must carry a deadline. When the PID it
// used turns out stale (the activation passivated or its member died),
// it forgets that PID and tries once more with a fresh lookup if time is
// left.
func Request(ctx context.Context, c *protocluster.Cluster, identity, kind string,
	msg any) (any, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, fmt.Errorf("request %s/%s: %w", kind, identity, ErrNoDeadline)
	}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		pid, err := Lookup(ctx, c, identity, kind)
		if err != nil {
			return nil, err
		}
		dl, _ := ctx.Deadline()
		left := time.Until(dl)
		if left <= 0 {
			return nil, fmt.Errorf("request %s/%s: %w", kind, identity,
				context.DeadlineExceeded)
		}
		reply, err := c.ActorSystem.Root.RequestFuture(pid, msg, left).Result()
		if err == nil {
			return reply, nil
		}
		lastErr = err
		if !stale(err) || ctx.Err() != nil {
			break
		}
		c.PidCache.RemoveByValue(identity, kind, pid)
	}
	return nil, fmt.Errorf("request %s/%s: %w", kind, identity, lastErr)
}

// stale reports errors after which a fresh lookup may find a live grain.
func stale(err error) bool {
	return errors.Is(err, actor.ErrDeadLetter) || errors.Is(err, remote.ErrDeadLetter) ||
		errors.Is(err, actor.ErrTimeout) || errors.Is(err, remote.ErrTimeout)
}
