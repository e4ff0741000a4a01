package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrInvalidConfig wraps every problem NewProvider finds in a Config.
var ErrInvalidConfig = errors.New("invalid cluster config")

// Config says how a node takes part in gossip.
type Config struct {
	// NodeName is the stable memberlist name. The node derives it from its
	// data directory, so a restarted node reclaims its own slot in the
	// ring. Required.
	NodeName string

	// GossipAddr is the host:port memberlist binds for both TCP and UDP.
	// The host must be an IP literal; an empty host binds every interface.
	// Port 0 picks a free port (tests). Required.
	GossipAddr string

	// HTTPAddr is this node's REST address, published to peers so they
	// can probe its health; "" publishes none.
	HTTPAddr string

	// AdvertiseAddr is the host:port peers should dial when it differs
	// from GossipAddr (NAT, 0.0.0.0 binds). Empty: memberlist picks the
	// bound address or, for 0.0.0.0, a private interface address.
	AdvertiseAddr string

	// Seeds are gossip addresses of nodes to join. None: the node forms a
	// cluster of its own. Seeds that are down are retried in the
	// background until one answers.
	Seeds []string

	// SecretKey encrypts gossip with AES (16, 24 or 32 bytes). Empty:
	// gossip is plain. Every node must use the same key.
	//
	// TODO: key rotation (DESIGN.md "Security"). memberlist's Keyring can
	// hold several keys; nothing exposes install/use/remove yet because
	// no operator command needs it so far.
	SecretKey []byte

	// State, when set, carries node-defined state (the ring) in
	// memberlist's periodic push/pull exchange. Optional.
	State StateDelegate

	// Logger receives the provider's and memberlist's logs. Nil discards.
	Logger *slog.Logger

	// wrapTransport, set only by tests, wraps memberlist's network
	// transport to inject faults such as partitions.
	wrapTransport func(memberlist.Transport) memberlist.Transport
}

// StateDelegate lets the node piggyback its own state on memberlist's
// full-state exchange, which runs on join and every push/pull interval.
// Both methods are called from memberlist goroutines and must not block.
type StateDelegate interface {
	// LocalState returns this node's state; join is true during a join.
	LocalState(join bool) []byte

	// MergeRemoteState merges state received from a peer.
	MergeRemoteState(buf []byte, join bool)
}

// Failure detection timings, tuned for a LAN. A node probes one peer every
// probeInterval; a peer that misses the direct probe and the indirect ones
// is suspected and gets suspicionMult probe intervals (1.2 s) to refute
// before it is declared dead. The provider then holds a dead node in the
// topology for deadGrace (see Provider.sync) before Proto.Actor drops it.
// A killed node thus leaves the topology about 2.5-3 s after it stops
// answering, while a node stalled for a second or so refutes in time and
// stays. Lifeguard's awareness backs a node's own probing off when it is
// itself slow, so a slow prober does not eject healthy peers.
const (
	probeInterval   = 400 * time.Millisecond
	probeTimeout    = 200 * time.Millisecond
	suspicionMult   = 3
	suspicionMaxMul = 4
	gossipInterval  = 100 * time.Millisecond
	pushPullEvery   = 15 * time.Second
	gossipToDead    = 15 * time.Second
	tcpTimeout      = 5 * time.Second
	deadReclaimTime = time.Second
)

// validate reports every problem in c at once.
func (c *Config) validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("NodeName: required"))
	}
	if _, _, err := splitBindAddr(c.GossipAddr); err != nil {
		errs = append(errs, fmt.Errorf("GossipAddr: %w", err))
	}
	if c.AdvertiseAddr != "" {
		if _, _, err := splitBindAddr(c.AdvertiseAddr); err != nil {
			errs = append(errs, fmt.Errorf("AdvertiseAddr: %w", err))
		}
	}
	for i, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			errs = append(errs, fmt.Errorf("Seeds[%d]: %w", i, err))
		}
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		errs = append(errs, fmt.Errorf("SecretKey: %d bytes, want 16, 24 or 32",
			len(c.SecretKey)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}

// splitBindAddr parses "ip:port"; an empty host means every interface.
func splitBindAddr(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		host = "0.0.0.0"
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("host %q is not an IP address", host)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portText)
	}
	return host, port, nil
}

// memberlistConfig builds memberlist's configuration from c on top of
// memberlist's LAN profile.
func (c *Config) memberlistConfig(logger *slog.Logger) *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.NodeName
	mc.BindAddr, mc.BindPort, _ = splitBindAddr(c.GossipAddr)
	mc.AdvertisePort = mc.BindPort
	if c.AdvertiseAddr != "" {
		mc.AdvertiseAddr, mc.AdvertisePort, _ = splitBindAddr(c.AdvertiseAddr)
	}
	if len(c.SecretKey) > 0 {
		mc.SecretKey = append([]byte(nil), c.SecretKey...)
	}

	mc.ProbeInterval = probeInterval
	mc.ProbeTimeout = probeTimeout
	mc.SuspicionMult = suspicionMult
	mc.SuspicionMaxTimeoutMult = suspicionMaxMul
	mc.GossipInterval = gossipInterval
	mc.PushPullInterval = pushPullEvery
	mc.GossipToTheDeadTime = gossipToDead
	mc.TCPTimeout = tcpTimeout

	// A restarted node keeps its name but may come back on another
	// address; let it reclaim its name once the old incarnation is dead.
	mc.DeadNodeReclaimTime = deadReclaimTime

	mc.Logger = memberlistLogger(logger)
	return mc
}
