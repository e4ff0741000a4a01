// Package config holds the settings of one Herald node: their defaults,
// loading from a YAML file, HERALD_* environment variables and flags (in
// that order, later layers winning), validation, and printing with secrets
// redacted.
//
// Callers build a Config with Load (or Default / LocalTest), call Validate
// before using it, and log it only through String or LogValue.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config is everything a node needs to start. Every field can be set in the
// YAML file (key in snake_case, e.g. data_dir), in the environment
// (HERALD_DATA_DIR) and, unless it is a secret, by flag (--data-dir).
type Config struct {
	// DataDir is the directory of the node's Pebble store. The node's name
	// is derived from it when NodeName is empty, so keep it across restarts.
	// Default "./data".
	DataDir string `json:"data_dir"`

	// HTTPAddr is host:port of the REST API, metrics and health endpoints.
	// Default "127.0.0.1:8080"; use ":8080" to listen on every interface.
	HTTPAddr string `json:"http_addr"`

	// NodeName is this node's stable name in the cluster, at most 64 of
	// [A-Za-z0-9._-]. Default "": the node derives one from DataDir, so a
	// restarted node is recognised as the same replica.
	NodeName string `json:"node_name"`

	// GossipAddr is host:port for memberlist gossip (TCP and UDP).
	// Default "127.0.0.1:7946". Other nodes list it in their Seeds.
	GossipAddr string `json:"gossip_addr"`

	// RemoteAddr is host:port for Proto.Actor remote (gRPC) traffic
	// between nodes. Default "127.0.0.1:8090".
	RemoteAddr string `json:"remote_addr"`

	// GossipAdvertiseAddr, RemoteAdvertiseAddr and HTTPAdvertiseAddr are
	// the host:port peers should use to reach this node's gossip, actor
	// remote and REST listeners when they differ from the bound addresses
	// (a node binding 0.0.0.0 in a container, or behind NAT). Default ""
	// advertises the bound address, which must then be reachable as is.
	GossipAdvertiseAddr string `json:"gossip_advertise_addr"`
	RemoteAdvertiseAddr string `json:"remote_advertise_addr"`
	HTTPAdvertiseAddr   string `json:"http_advertise_addr"`

	// Seeds are gossip addresses (host:port) of nodes to join at start.
	// Default none: the node forms a cluster of one. Listing more than one
	// seed lets a node join while some are down.
	Seeds []string `json:"seeds"`

	// LogLevel is the minimum slog level: debug, info, warn or error.
	// Default info; debug logs every push decision and is costly.
	LogLevel string `json:"log_level"`

	// ClusterName keeps clusters apart: nodes only join peers with the
	// same name. Default "herald".
	ClusterName string `json:"cluster_name"`

	// BootstrapToken is the admin bearer token accepted only by app
	// creation (POST /management/orgs/{org}/apps). A secret: environment
	// or file only, at least 16 characters. Default "": the node generates
	// one on first start, keeps it in DataDir and prints it once.
	BootstrapToken Secret `json:"bootstrap_token"`

	// GossipKey encrypts memberlist gossip: base64 of 16, 24 or 32 bytes
	// (AES-128/192/256). A secret: environment or file only. Default "":
	// gossip is not encrypted, acceptable only on a trusted network.
	GossipKey Secret `json:"gossip_key"`

	// TokenDefaultTTL is the lifetime of an access token whose request
	// names no ttl. Whole seconds; default 5184000s (60 days). Shorter
	// lifetimes limit a leaked token's use but make clients refresh more.
	TokenDefaultTTL time.Duration `json:"token_default_ttl"`

	// TokenMaxTTL caps the ttl a token request may ask for. Whole
	// seconds; default 5184000s (60 days).
	TokenMaxTTL time.Duration `json:"token_max_ttl"`

	// DeliveryMaxInFlight is how many vendor requests one notifier actor
	// keeps in flight on this node. Default 256. Higher raises throughput
	// until the vendor's stream limit or quota pushes back.
	DeliveryMaxInFlight int `json:"delivery_max_in_flight"`

	// DeliveryQueueSize bounds the pushes waiting in one notifier actor's
	// queue; a full queue answers "overloaded" at once. Default 10000.
	// Larger absorbs bursts but holds more memory and latency.
	DeliveryQueueSize int `json:"delivery_queue_size"`

	// GrainIdleTimeout passivates a user or app grain after this long
	// without a message. Default 10m. Shorter saves memory; longer keeps
	// the recent-message-id memory (duplicate detection) warm.
	GrainIdleTimeout time.Duration `json:"grain_idle_timeout"`

	// SoftSyncInterval is how often soft state (badge counters, recent
	// message ids) is fsynced. Default 1s: a crash may lose that much of
	// it; shorter costs more fsyncs.
	SoftSyncInterval time.Duration `json:"soft_sync_interval"`

	// PushTimeout is how long a push request waits for every recipient's
	// outcome when it names no wait. Default 30s.
	PushTimeout time.Duration `json:"push_timeout"`

	// PushMaxTimeout caps the wait a push request may ask for.
	// Default 120s. Long waits hold connections and memory per request.
	PushMaxTimeout time.Duration `json:"push_max_timeout"`

	// FeedbackPollInterval is how often the node asks the feedback API of
	// each Xiaomi notifier for dead device tokens (VENDORS.md §2.5) and
	// unbinds them. Default 10m, 100ms to 24h. Shorter drops dead tokens
	// sooner at the cost of more requests to the vendor.
	FeedbackPollInterval time.Duration `json:"feedback_poll_interval"`

	// RemoteTLSCA, RemoteTLSCert and RemoteTLSKey are PEM files that turn
	// on mutual TLS for Proto.Actor remote traffic: the CA that signed
	// every node's and client's certificate, this node's certificate
	// (usable for server and client auth, naming the host of RemoteAddr)
	// and its private key. All three or none. Default none: plain gRPC,
	// acceptable only on a trusted network.
	RemoteTLSCA   string `json:"remote_tls_ca"`
	RemoteTLSCert string `json:"remote_tls_cert"`
	RemoteTLSKey  string `json:"remote_tls_key"`
}

// Default returns the settings of a single production node with data
// under ./data, listening on loopback.
func Default() Config {
	return Config{
		DataDir:             "./data",
		HTTPAddr:            "127.0.0.1:8080",
		GossipAddr:          "127.0.0.1:7946",
		RemoteAddr:          "127.0.0.1:8090",
		LogLevel:            "info",
		ClusterName:         "herald",
		TokenDefaultTTL:     5184000 * time.Second,
		TokenMaxTTL:         5184000 * time.Second,
		DeliveryMaxInFlight: 256,
		DeliveryQueueSize:   10000,
		GrainIdleTimeout:    10 * time.Minute,
		SoftSyncInterval:    time.Second,
		PushTimeout:         30 * time.Second,
		PushMaxTimeout:      120 * time.Second,

		FeedbackPollInterval: 10 * time.Minute,
	}
}

// LocalTest returns a profile for tests on one machine: every address on
// 127.0.0.1 port 0 (the node must report the ports it bound), short
// timeouts, frequent soft syncs and debug logs. Tests set DataDir to a
// temporary directory.
func LocalTest() Config {
	c := Default()
	c.HTTPAddr = "127.0.0.1:0"
	c.GossipAddr = "127.0.0.1:0"
	c.RemoteAddr = "127.0.0.1:0"
	c.LogLevel = "debug"
	c.ClusterName = "herald-test"
	c.TokenDefaultTTL = time.Hour
	c.TokenMaxTTL = 24 * time.Hour
	c.DeliveryMaxInFlight = 64
	c.DeliveryQueueSize = 1000
	c.GrainIdleTimeout = 2 * time.Second
	c.SoftSyncInterval = 50 * time.Millisecond
	c.PushTimeout = 5 * time.Second
	c.PushMaxTimeout = 10 * time.Second
	return c
}

// SlogLevel returns LogLevel as a slog.Level; info if it does not parse
// (Validate reports that).
func (c Config) SlogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// GossipKeyBytes decodes GossipKey; nil if none is set.
func (c Config) GossipKeyBytes() ([]byte, error) {
	if c.GossipKey == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(c.GossipKey.Reveal())
	if err != nil {
		return nil, errors.New("decode gossip key: not base64")
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("decode gossip key: %d bytes, want 16, 24 or 32", len(key))
}

// Secret is a string that never prints: String, JSON, text and slog
// renderings show "******" (or "" when unset). Reveal returns the value.
type Secret string

const redacted = "******"

// Reveal returns the secret itself, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the secret.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// MarshalText is used by JSON, YAML and text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
