// Package cluster is Herald's membership layer: a Proto.Actor
// ClusterProvider built on hashicorp/memberlist.
//
// Every node, and every IM-core client, runs a memberlist agent that
// gossips a small meta value: its Proto.Actor member id, the host and port
// of its Proto.Actor remote, its grain kinds, and whether it is a client.
// The provider turns memberlist's view of live nodes into the member set
// Proto.Actor places grains on; clients are never part of that set.
//
// Callers create a Provider with NewProvider, hand it to
// cluster.Configure, and start the cluster with StartMember or
// StartClient. They must watch Dead: Proto.Actor blocks a member id that
// was once declared dead for good, so a node that learns its peers did so
// must exit and restart under a new id. After a non-graceful
// Cluster.Shutdown (which does not call the provider) they must call
// Shutdown(false) themselves.
package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/hashicorp/memberlist"
)

// ErrAlreadyStarted is returned by StartMember and StartClient on a
// provider that was started before; a provider serves one cluster once.
var ErrAlreadyStarted = errors.New("cluster provider already started")

// ErrShutdown is returned when starting a provider that was shut down.
var ErrShutdown = errors.New("cluster provider shut down")

// Timings of the provider's own loops.
const (
	// resyncEvery re-pushes the topology and re-checks block notices even
	// without memberlist events, in case a notice was lost.
	resyncEvery = time.Second

	// deadGrace is how long a node memberlist declared dead stays in the
	// Proto.Actor topology. Proto.Actor blocks a removed member id for
	// good, while memberlist may take a death back: when a partition
	// heals, the cut-off side gossips its stale "dead" verdicts about
	// healthy nodes, which others accept until the node refutes them a
	// few gossip rounds later. Without the grace, that blip would force
	// a healthy node to restart.
	deadGrace = 750 * time.Millisecond

	// noticeEvery limits how often one peer is told it is blocked.
	noticeEvery = 2 * time.Second

	// forgetDeadAfter drops dead nodes from Members.
	forgetDeadAfter = 10 * time.Minute

	// joinRetryMin and joinRetryMax bound the backoff between attempts to
	// reach the seeds when none answered yet.
	joinRetryMin = 250 * time.Millisecond
	joinRetryMax = 5 * time.Second

	// rejoinEvery is how often seeds that are not live are contacted
	// again, to heal a cluster split by a long partition.
	rejoinEvery = 10 * time.Second

	// leaveTimeout bounds how long a graceful Shutdown waits for the
	// leave message to go out.
	leaveTimeout = 2 * time.Second

	// metaUpdateTimeout bounds how long starting waits for the new meta
	// to reach peers.
	metaUpdateTimeout = 2 * time.Second
)

// Provider is a Proto.Actor ClusterProvider on memberlist. Create it with
// NewProvider; it is safe for concurrent use.
type Provider struct {
	cfg        Config
	logger     *slog.Logger
	ml         *memberlist.Memberlist
	gossipAddr string

	// changed is signalled, without blocking, by memberlist callbacks and
	// by block notices; the watch goroutine drains it and re-syncs.
	changed chan struct{}

	// stop is closed by Shutdown; every provider goroutine returns on it.
	stop chan struct{}

	// dead is closed once this node learns it cannot stay in the cluster.
	dead     chan struct{}
	deadOnce sync.Once

	// wg tracks the watch, join and rejoin goroutines; Shutdown waits
	// for them before stopping memberlist, which they call into.
	wg sync.WaitGroup

	shutdownOnce sync.Once

	// mu guards the fields below. It is taken inside memberlist callbacks
	// (which hold memberlist's own lock), so code holding mu must never
	// call into memberlist.
	mu        sync.Mutex
	started   bool
	closed    bool
	client    bool
	joined    bool
	cluster   *protocluster.Cluster
	self      nodeMeta
	meta      []byte
	nodes     map[string]*nodeView
	blockedBy map[string]bool      // member ids of peers that blocked us
	noticed   map[string]time.Time // last notice sent, by name/member id
}

var _ protocluster.ClusterProvider = (*Provider)(nil)

// nodeView is the provider's copy of one memberlist node. Copies are
// taken inside callbacks, so reading them needs only mu.
type nodeView struct {
	name    string
	node    memberlist.Node
	meta    nodeMeta
	metaErr error
	alive   bool
	since   time.Time
}

// NewProvider validates cfg and starts memberlist on cfg.GossipAddr. The
// node is not announced to anyone until StartMember or StartClient.
func NewProvider(cfg Config) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With(slog.String("node", cfg.NodeName))

	p := &Provider{
		cfg:       cfg,
		logger:    logger,
		changed:   make(chan struct{}, 1),
		stop:      make(chan struct{}),
		dead:      make(chan struct{}),
		nodes:     make(map[string]*nodeView),
		blockedBy: make(map[string]bool),
		noticed:   make(map[string]time.Time),
	}

	mc := cfg.memberlistConfig(logger)
	if cfg.wrapTransport != nil {
		if err := wrapTransport(mc, cfg.wrapTransport); err != nil {
			return nil, err
		}
	}
	d := &delegate{p: p}
	mc.Delegate = d
	mc.Events = d
	mc.Conflict = d
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("start memberlist on %s: %w", cfg.GossipAddr, err)
	}
	p.ml = ml
	p.gossipAddr = ml.LocalNode().Address()
	return p, nil
}

// GossipAddr returns the address memberlist is reachable at, with the
// port it actually bound.
func (p *Provider) GossipAddr() string {
	return p.gossipAddr
}

// Dead is closed when this node must exit: a majority of its live peers
// have blocked its member id (they declared it dead earlier), or, for a
// client, it blocked a member that is alive again. Proto.Actor never
// unblocks an id, so only a restart with a new member id helps.
func (p *Provider) Dead() <-chan struct{} {
	return p.dead
}

// Joined reports whether the node takes part in the cluster: memberlist
// runs, the provider was started, and either no seeds were configured
// (a cluster of one) or some peer was reached.
func (p *Provider) Joined() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started || p.closed {
		return false
	}
	return len(p.cfg.Seeds) == 0 || p.joined
}

// StartMember announces this node as a member hosting the cluster's kinds
// and joins the seeds.
func (p *Provider) StartMember(c *protocluster.Cluster) error {
	return p.start(c, false)
}

// StartClient announces this process as a cluster client (no kinds, never
// a placement target) and joins the seeds.
func (p *Provider) StartClient(c *protocluster.Cluster) error {
	return p.start(c, true)
}

func (p *Provider) start(c *protocluster.Cluster, client bool) error {
	// Describe ourselves. Kinds are sorted so the meta of a restarted node
	// with the same kinds is byte-identical.
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return fmt.Errorf("read actor system address: %w", err)
	}
	self := nodeMeta{MemberID: c.ActorSystem.ID, Host: host, Port: port, Client: client,
		HTTP: p.cfg.HTTPAddr}
	if !client {
		self.Kinds = c.GetClusterKinds()
		sort.Strings(self.Kinds)
	}
	meta, err := encodeMeta(self)
	if err != nil {
		return err
	}

	// Record it, refusing a second start.
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrShutdown
	}
	if p.started {
		p.mu.Unlock()
		return ErrAlreadyStarted
	}
	p.started = true
	p.client = client
	p.cluster = c
	p.self = self
	p.meta = meta
	p.mu.Unlock()

	// Publish the meta. No peer knows us yet, so this returns at once; it
	// matters if a peer that lists us as a seed reached us before start.
	if err := p.ml.UpdateNode(metaUpdateTimeout); err != nil {
		p.logger.Warn("publish node meta", slog.Any("error", err))
	}
	p.logger.Info("cluster provider started",
		slog.String("member_id", self.MemberID),
		slog.String("gossip_addr", p.gossipAddr),
		slog.Bool("client", client),
		slog.Any("kinds", self.Kinds))

	p.spawn(p.watch)
	p.join()
	if len(p.cfg.Seeds) > 0 {
		p.spawn(p.rejoin)
	}
	return nil
}

// Shutdown stops gossip. With graceful it first tells the peers this node
// leaves, so they drop it at once instead of after failure detection.
// It is safe to call more than once.
func (p *Provider) Shutdown(graceful bool) error {
	var err error
	p.shutdownOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stop)
		p.wg.Wait()

		if graceful {
			if lerr := p.ml.Leave(leaveTimeout); lerr != nil {
				p.logger.Warn("leave cluster", slog.Any("error", lerr))
			}
		}
		if serr := p.ml.Shutdown(); serr != nil {
			err = fmt.Errorf("stop memberlist: %w", serr)
		}
		p.logger.Info("cluster provider stopped", slog.Bool("graceful", graceful))
	})
	return err
}

// spawn runs f in a goroutine that Shutdown waits for. After Shutdown has
// begun it runs nothing: the goroutines call into memberlist, which must
// not be used once stopped.
func (p *Provider) spawn(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// signal asks the watch goroutine to re-sync; it never blocks.
func (p *Provider) signal() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// markDead closes Dead once.
func (p *Provider) markDead(reason string) {
	p.deadOnce.Do(func() {
		p.logger.Error("node must restart: its member id is blocked",
			slog.String("reason", reason))
		close(p.dead)
	})
}

// wrapTransport binds memberlist's own network transport, as Create would,
// and installs wrap around it.
func wrapTransport(mc *memberlist.Config,
	wrap func(memberlist.Transport) memberlist.Transport) error {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{mc.BindAddr},
		BindPort:  mc.BindPort,
		Logger:    mc.Logger,
	})
	if err != nil {
		return fmt.Errorf("start gossip transport: %w", err)
	}
	if mc.BindPort == 0 {
		mc.BindPort = nt.GetAutoBindPort()
		mc.AdvertisePort = mc.BindPort
	}
	mc.Transport = wrap(nt)
	return nil
}
