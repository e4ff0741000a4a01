package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	hcluster "github.com/herald-im/herald/cluster"
)

// conn is one incarnation of the client in the cluster: an actor system,
// its remote, and a gossip agent in client mode. The client replaces it
// when the provider reports it can no longer reach all members.
type conn struct {
	system   *actor.ActorSystem
	cluster  *protocluster.Cluster
	provider *hcluster.Provider

	// members holds the remote addresses of the members in the last
	// topology Proto.Actor published; pushes round-robin over them.
	members atomic.Pointer[[]string]
	next    atomic.Uint64
}

// memberPoll is how often dial checks whether a member is known.
const memberPoll = 20 * time.Millisecond

// dial starts a conn and waits until ctx ends or a member is known.
func dial(ctx context.Context, cfg Config) (*conn, error) {
	// Proto.Actor narrates every topology change at info; pass on only
	// its warnings and errors.
	actorLog := slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}).
		With(slog.String("lib", "protoactor"))
	system := actor.NewActorSystem(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return actorLog }))
	provider, err := hcluster.NewProvider(hcluster.Config{
		NodeName:   "herald-client-" + system.ID,
		GossipAddr: cfg.GossipAddr,
		Seeds:      cfg.Seeds,
		SecretKey:  cfg.SecretKey,
		Logger:     cfg.Logger,
	})
	if err != nil {
		system.Shutdown()
		if errors.Is(err, hcluster.ErrInvalidConfig) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		return nil, fmt.Errorf("start gossip: %w", err)
	}

	c := &conn{system: system, provider: provider}
	system.EventStream.Subscribe(func(ev any) {
		if tp, ok := ev.(*protocluster.ClusterTopology); ok {
			addrs := make([]string, 0, len(tp.Members))
			for _, m := range tp.Members {
				addrs = append(addrs, m.Address())
			}
			c.members.Store(&addrs)
		}
	})

	remoteOpts, err := hcluster.RemoteOptions(cfg.RemoteTLS, cfg.Logger)
	if err != nil {
		system.Shutdown()
		_ = provider.Shutdown(false)
		return nil, fmt.Errorf("remote tls: %w", err)
	}
	host, port, _ := splitHostPort(cfg.RemoteAddr)
	ccfg := protocluster.Configure(cfg.ClusterName, provider, disthash.New(),
		remote.Configure(host, port, remoteOpts...))
	c.cluster = protocluster.New(system, ccfg)
	if err := startClient(c.cluster); err != nil {
		system.Shutdown()
		_ = provider.Shutdown(false)
		return nil, err
	}

	if err := c.waitForMember(ctx); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// startClient runs Cluster.StartClient, which panics when the remote
// cannot listen or the provider fails, and turns a panic into an error.
func startClient(c *protocluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start cluster client: %v", r)
		}
	}()
	c.StartClient()
	return nil
}

// waitForMember polls until a member is known or ctx ends.
func (c *conn) waitForMember(ctx context.Context) error {
	tick := time.NewTicker(memberPoll)
	defer tick.Stop()
	for {
		if len(c.memberAddrs()) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for a herald node: %w: %w", ErrNoMembers, ctx.Err())
		case <-tick.C:
		}
	}
}

func (c *conn) memberAddrs() []string {
	if p := c.members.Load(); p != nil {
		return *p
	}
	return nil
}

// pick returns the next member address in round-robin order.
func (c *conn) pick() (string, bool) {
	addrs := c.memberAddrs()
	if len(addrs) == 0 {
		return "", false
	}
	i := c.next.Add(1) - 1
	return addrs[i%uint64(len(addrs))], true
}

// close leaves the cluster and stops the actor system. Cluster.Shutdown
// is not used: it panics on a client, whose gossiper never started.
func (c *conn) close() {
	c.system.Shutdown()
	c.cluster.Remote.Shutdown(false)
	_ = c.provider.Shutdown(true)
}

// minLevel drops records below level before they reach the handler.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
