package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/herald-im/herald/actors/app"
	"github.com/herald-im/herald/actors/delivery"
	"github.com/herald-im/herald/actors/dispatch"
	"github.com/herald-im/herald/actors/fanout"
	"github.com/herald-im/herald/actors/feedback"
	"github.com/herald-im/herald/actors/user"
	"github.com/herald-im/herald/api"
	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
	"github.com/herald-im/herald/ratelimit"
	"github.com/herald-im/herald/replication"
	"github.com/herald-im/herald/ring"
	"github.com/herald-im/herald/stats"
	"github.com/herald-im/herald/vendors"
	_ "github.com/herald-im/herald/vendors/all" // every vendor client
	"github.com/herald-im/herald/webhook"
)

// Options are everything a node needs; cmd/herald fills them from config.
type Options struct {
	DataDir     string
	NodeName    string // "" = kept in the data directory
	HTTPAddr    string
	GossipAddr  string
	RemoteAddr  string
	Seeds       []string
	ClusterName string
	// AdvertiseGossip, AdvertiseRemote and AdvertiseHTTP are the addresses
	// peers use to reach this node when they differ from the bound ones;
	// "" advertises the bound address.
	AdvertiseGossip, AdvertiseRemote, AdvertiseHTTP string
	// BootstrapToken authorizes app creation; "" = kept in the data
	// directory, generated and printed to Out on first start.
	BootstrapToken string
	GossipKey      []byte
	// RemoteTLS secures Proto.Actor remote with mutual TLS when it names
	// certificate files; empty means plain gRPC.
	RemoteTLS membership.RemoteTLS

	TokenTTL, MaxTokenTTL time.Duration

	DeliveryMaxInFlight int
	DeliveryQueueSize   int
	GrainIdleTimeout    time.Duration
	SoftSyncInterval    time.Duration
	// PushWait is the default and MaxPushWait the largest time a push
	// request waits for final outcomes.
	PushWait, MaxPushWait time.Duration

	// FeedbackPollInterval is how often the node polls the feedback API
	// of each Xiaomi notifier for dead tokens; 0 = xiaomi.PollInterval.
	FeedbackPollInterval time.Duration

	Logger *slog.Logger
	// Out receives the one-time bootstrap token notice (stdout).
	Out io.Writer
}

// Node is one running Herald node.
type Node struct {
	opts Options
	log  *slog.Logger
	name string

	store   *persistence.Store
	system  *actor.ActorSystem
	cluster *cluster.Cluster
	members *membership.Provider
	ring    *ring.Manager
	regs    *replication.Registers
	// stopAntiEntropy ends the background anti-entropy pass.
	stopAntiEntropy context.CancelFunc
	delivery        *delivery.Registry
	apps            *app.Cache
	ingest          *actor.PID
	// feedback unbinds the dead tokens vendors report by polling.
	feedback *feedback.Poller

	// Reporting: every decision and outcome goes to events, which feeds
	// the app webhooks and the statistics.
	events events.Sink
	hooks  *webhook.Dispatcher
	stats  *stats.Recorder

	listener net.Listener
	http     *http.Server
	served   chan struct{}

	stopOnce sync.Once
}

// Start brings a node up and returns once it serves REST.
func Start(opts Options) (_ *Node, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{opts: opts, log: opts.Logger, served: make(chan struct{})}
	defer func() {
		if err != nil {
			n.Stop(context.Background())
		}
	}()

	// The data directory holds the node's identity and its store.
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if n.name, err = nodeName(opts.DataDir, opts.NodeName); err != nil {
		return nil, err
	}
	token, err := bootstrapToken(opts.DataDir, opts.BootstrapToken, opts.Out)
	if err != nil {
		return nil, err
	}
	n.store, err = persistence.Open(filepath.Join(opts.DataDir, "pebble"), persistence.Options{
		Logger:           n.log.With("component", "store"),
		SoftSyncInterval: opts.SoftSyncInterval,
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}

	// Ports are bound before the actor system starts, so an occupied port
	// fails with a clear error instead of a panic inside a library.
	n.listener, err = net.Listen("tcp", opts.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen http %s: %w", opts.HTTPAddr, err)
	}
	if err := n.startReporting(); err != nil {
		return nil, err
	}
	if err := n.startCluster(); err != nil {
		return nil, err
	}
	n.startFeedback() // dead-token polls, node/tokens.go

	handler := api.New(api.Options{
		Backend:        &backend{n: n, stats: n.stats},
		Limiter:        ratelimit.New(time.Now),
		BootstrapToken: token,
		TokenTTL:       opts.TokenTTL,
		MaxTokenTTL:    opts.MaxTokenTTL,
		Logger:         n.log.With("component", "api"),
		Now:            time.Now,
	})
	n.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(n.served)
		if err := n.http.Serve(n.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("serve http", "err", err)
		}
	}()

	n.log.Info("node started", "node", n.name, "http", n.listener.Addr().String(),
		"gossip", n.members.GossipAddr(), "remote", n.system.Address())
	return n, nil
}

// startReporting starts the statistics recorder and the webhook
// dispatcher. Neither ever delays a push: both drop and count when full.
func (n *Node) startReporting() error {
	rec, err := stats.New(stats.Options{Store: n.store,
		Logger: n.log.With("component", "stats")})
	if err != nil {
		return fmt.Errorf("start statistics: %w", err)
	}
	n.stats = rec
	n.hooks = webhook.New(webhook.Options{
		Logger: n.log.With("component", "webhook"),
		Config: func(appKey string) *messages.PushConfig {
			return n.apps.Peek(appKey).GetConfig()
		},
	})
	n.events = events.Fanout(n.hooks, n.stats)
	return nil
}

// startCluster starts the actor system as a cluster member with the user
// and app kinds, and the node's delivery and ingest actors.
func (n *Node) startCluster() (err error) {
	host, port, err := splitHostPort(n.opts.RemoteAddr)
	if err != nil {
		return fmt.Errorf("remote addr: %w", err)
	}
	if err := portFree(n.opts.RemoteAddr); err != nil {
		return fmt.Errorf("listen remote %s: %w", n.opts.RemoteAddr, err)
	}

	// Proto.Actor narrates every topology change at info; keep its
	// warnings and errors only.
	actorLog := slog.New(levelFilter{n.log.Handler(), slog.LevelWarn}).With("lib", "protoactor")
	n.system = actor.NewActorSystem(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return actorLog }))

	// The ring (the nodes that replicate registers) travels in memberlist's
	// push/pull state, so it exists before membership starts.
	n.ring, err = ring.New(ring.Config{
		NodeName: n.name,
		Store:    n.store,
		Migrate:  n.migrate,
		Logger:   n.log.With("component", "ring"),
	})
	if err != nil {
		return fmt.Errorf("start ring: %w", err)
	}
	n.members, err = membership.NewProvider(membership.Config{
		State:         n.ring,
		HTTPAddr:      n.advertisedHTTP(),
		AdvertiseAddr: n.opts.AdvertiseGossip,
		NodeName:      n.name,
		GossipAddr:    n.opts.GossipAddr,
		Seeds:         n.opts.Seeds,
		SecretKey:     n.opts.GossipKey,
		Logger:        n.log.With("component", "membership"),
	})
	if err != nil {
		return fmt.Errorf("start membership: %w", err)
	}

	// Herald's own actors run on reused goroutines (see actors/dispatch).
	pool := dispatch.NewPool(300, 10*time.Second)

	n.apps = app.NewCache(nil, 5*time.Second)
	n.delivery = delivery.NewRegistry(n.system, delivery.Options{
		Dispatcher:     pool,
		Events:         n.events,
		OnDailyCap:     n.broadcastDailyCap,
		MaxInFlight:    n.opts.DeliveryMaxInFlight,
		QueueSize:      n.opts.DeliveryQueueSize,
		RootCAs:        vendors.TrustPool(),
		Logger:         n.log.With("component", "delivery"),
		OnTokenInvalid: n.unbindInvalid,
		Now:            time.Now,
	})

	// Every register (user, app, token) is replicated on the ring: the
	// grains see only the Registers interface, a lone node being a ring
	// of one.
	n.regs = replication.NewRegisters(n.system, n.store, n.ring,
		n.log.With("component", "replication"))
	registers := n.regs
	names := user.NewNames()
	appKind := app.NewKind(app.Deps{
		Registers: registers, Cache: n.apps, Logger: n.log.With("component", "app"),
		Now: time.Now, IdleTimeout: n.opts.GrainIdleTimeout,
	})
	userKind := user.NewKind(user.Deps{
		Registers: registers, Store: n.store, Soft: n.regs, Apps: n.apps, Delivery: n.delivery,
		Logger: n.log.With("component", "user"), Now: time.Now,
		IdleTimeout: n.opts.GrainIdleTimeout,
		// A busy user's soft state is written at most twice a second; with
		// the store's own sync interval that keeps the lag after a crash
		// near the second DESIGN.md allows, at a fraction of the writes.
		SoftFlushDelay: 500 * time.Millisecond,
		Events:         n.events,
		Names:          names,
	})

	tokenKind := n.tokenKind(registers) // token ownership, node/tokens.go

	for _, k := range []*cluster.Kind{appKind, userKind, tokenKind} {
		k.Props = k.Props.Configure(actor.WithDispatcher(pool))
	}
	// Remote runs over mutual TLS when certificates are configured, and
	// survives envelopes it cannot decode (see membership.RemoteOptions).
	remoteOpts, err := membership.RemoteOptions(n.opts.RemoteTLS,
		n.log.With("component", "remote"))
	if err != nil {
		return fmt.Errorf("remote tls: %w", err)
	}
	if n.opts.AdvertiseRemote != "" {
		// Peers address this node's actors (and its register acceptor)
		// by this host:port instead of the bound one.
		remoteOpts = append(remoteOpts, remote.WithAdvertisedHost(n.opts.AdvertiseRemote))
	}
	cfg := cluster.Configure(n.opts.ClusterName, n.members, disthash.New(),
		remote.Configure(host, port, remoteOpts...),
		cluster.WithKinds(appKind, userKind, tokenKind))
	n.cluster = cluster.New(n.system, cfg)
	n.apps.SetCluster(n.cluster)
	// App changes made by a grain on any node reach this node's cache.
	if err := n.apps.Listen(); err != nil {
		return fmt.Errorf("listen for app changes: %w", err)
	}

	// StartMember reports failures by panicking; turn that into an error.
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("start cluster member: %v", r)
			}
		}()
		n.cluster.StartMember()
	}()
	if err != nil {
		return err
	}
	// The acceptor answers the other nodes' register requests; it must run
	// before the ring admits this node and others start asking it.
	if _, err := replication.SpawnAcceptor(n.system, n.store,
		n.log.With("component", "acceptor")); err != nil {
		return fmt.Errorf("spawn register acceptor: %w", err)
	}
	if err := n.ring.Start(n.members); err != nil {
		return fmt.Errorf("start ring: %w", err)
	}
	if err := n.startAntiEntropy(); err != nil {
		return err
	}
	n.followDailyCaps()

	n.ingest, err = fanout.SpawnIngest(n.system, fanout.Deps{
		Cluster: n.cluster, Apps: n.apps, Logger: n.log.With("component", "fanout"),
		Now: time.Now, DefaultWait: n.opts.PushWait, Dispatcher: pool, Names: names,
	})
	if err != nil {
		return fmt.Errorf("spawn ingest: %w", err)
	}
	return nil
}

// migrate copies the registers whose replica set changed between two ring
// views; the ring manager calls it after each change it sees.
func (n *Node) migrate(ctx context.Context, from, to ring.View) error {
	if n.regs == nil {
		return errors.New("registers not started")
	}
	return n.regs.Migrate(ctx, from, to)
}

// advertisedHTTP is the REST address peers probe for this node's health.
func (n *Node) advertisedHTTP() string {
	if n.opts.AdvertiseHTTP != "" {
		return n.opts.AdvertiseHTTP
	}
	return n.listener.Addr().String()
}

// broadcastDailyCap tells the other nodes that a notifier reached its
// vendor's daily cap, so none of them sends through it until the cap resets
// (VENDORS.md §1.5). The local delivery actor paused itself already.
func (n *Node) broadcastDailyCap(appKey, notifier string, until time.Time) {
	n.cluster.MemberList.BroadcastEvent(&messages.NotifierPause{
		AppKey: appKey, Notifier: notifier, Until: until.UnixMilli()}, false)
}

// followDailyCaps pauses this node's delivery actor of a notifier that
// another node saw reach its daily cap.
func (n *Node) followDailyCaps() {
	n.system.EventStream.Subscribe(func(evt any) {
		p, ok := evt.(*messages.NotifierPause)
		if !ok {
			return
		}
		until := time.UnixMilli(p.Until)
		if err := n.delivery.Pause(p.AppKey, p.Notifier, until); err != nil {
			n.log.Debug("ignore notifier pause", "app", p.AppKey, "notifier", p.Notifier,
				"err", err)
			return
		}
		n.log.Info("notifier paused by another node's daily cap", "app", p.AppKey,
			"notifier", p.Notifier, "until", until)
	})
}

// startAntiEntropy runs the background pass that copies newer register
// values onto replicas that fell behind (a node that was down, a write
// acknowledged by a majority only).
func (n *Node) startAntiEntropy() error {
	ae, err := replication.NewAntiEntropy(n.regs, 0)
	if err != nil {
		return fmt.Errorf("start anti-entropy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stopAntiEntropy = cancel
	go ae.Run(ctx)
	return nil
}

// unbindInvalid asks a user's grain to drop a binding its vendor reported
// invalid. It runs outside any actor, so it may wait for the answer.
func (n *Node) unbindInvalid(appKey, recipient string, u *messages.Unbind) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := membership.Request(ctx, n.cluster, user.Identity(appKey, recipient), user.Kind, u)
	if err != nil {
		n.log.Warn("unbind invalid token", "app", appKey, "user", recipient,
			"device", u.DeviceId, "err", err)
	}
}

// HTTPAddr is the address REST listens on.
func (n *Node) HTTPAddr() string { return n.listener.Addr().String() }

// Dead is closed when the cluster declared this node dead while it runs;
// the node must then exit and restart with a new member id.
func (n *Node) Dead() <-chan struct{} { return n.members.Dead() }

// Stop shuts the node down in order: REST, membership and actors (so
// in-flight deliveries finish), then storage.
func (n *Node) Stop(ctx context.Context) {
	n.stopOnce.Do(func() { n.stop(ctx) })
}

func (n *Node) stop(ctx context.Context) {
	if n.http != nil {
		if err := n.http.Shutdown(ctx); err != nil {
			n.log.Warn("stop http", "err", err)
		}
		<-n.served
	} else if n.listener != nil {
		n.listener.Close()
	}
	if n.feedback != nil {
		n.feedback.Stop()
	}
	if n.delivery != nil {
		n.delivery.Stop()
	}
	if n.cluster != nil {
		n.cluster.Shutdown(true)
	} else if n.members != nil {
		_ = n.members.Shutdown(true)
	}
	// Outcomes stop arriving once the actors are down; then the webhook
	// queue drains within the deadline and the last counters are written.
	if n.hooks != nil {
		if err := n.hooks.Close(ctx); err != nil {
			n.log.Warn("stop webhooks", "err", err)
		}
	}
	if n.stats != nil {
		if err := n.stats.Close(); err != nil {
			n.log.Warn("stop statistics", "err", err)
		}
	}
	if n.stopAntiEntropy != nil {
		n.stopAntiEntropy()
	}
	if n.ring != nil {
		n.ring.Stop()
	}
	if n.regs != nil {
		n.regs.Close()
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Error("close store", "err", err)
		}
	}
	n.log.Info("node stopped", "node", n.name)
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}

// portFree checks that addr can be bound, so Proto.Actor's remote (which
// panics when it cannot listen) is only started on a free port.
func portFree(addr string) error {
	if _, port, _ := net.SplitHostPort(addr); port == "0" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// levelFilter passes records at or above min to the wrapped handler.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}

func (f levelFilter) WithGroup(g string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(g), f.min}
}

// Push submits a message on this node, as POST /push/messages does, and
// waits for its outcome; for embedding Herald in-process and benchmarks.
func (n *Node) Push(ctx context.Context, m *messages.PushMessage) (*messages.PushResult, error) {
	return (&backend{n: n}).Push(ctx, m)
}
