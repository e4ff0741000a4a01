package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	hcluster "github.com/herald-im/herald/cluster"
)

// Defaults filled in by New for zero Config fields.
const (
	DefaultGossipAddr  = "127.0.0.1:0"
	DefaultRemoteAddr  = "127.0.0.1:0"
	DefaultClusterName = "herald"
	DefaultTimeout     = 30 * time.Second
	DefaultRetries     = 3
)

// ErrInvalidConfig wraps every problem New finds in a Config.
var ErrInvalidConfig = errors.New("invalid client config")

// Config says how the client reaches Herald.
type Config struct {
	// Seeds are gossip addresses (host:port) of any Herald nodes; one
	// live node is enough, it introduces the rest. Required.
	Seeds []string

	// GossipAddr is the local memberlist bind, ip:port. The nodes gossip
	// with the client, so it must be reachable from them. Default
	// "127.0.0.1:0"; set a routable address outside tests.
	GossipAddr string

	// RemoteAddr is the local Proto.Actor remote bind, host:port; replies
	// come back to it. Default "127.0.0.1:0".
	RemoteAddr string

	// ClusterName must equal the nodes' cluster name. Default "herald".
	ClusterName string

	// Timeout bounds one attempt: how long Push waits for a node's answer
	// before resubmitting to another node. It should exceed the nodes'
	// push wait, or slow pushes are resubmitted needlessly. Default 30 s.
	Timeout time.Duration

	// Retries is how many times Push resubmits an unanswered message to
	// another node (same msg_id, so nodes deduplicate). Zero means the
	// default; a negative value means no resubmission. Default 3.
	Retries int

	// SecretKey is the nodes' gossip encryption key (16, 24 or 32
	// bytes); required when the cluster encrypts gossip. Optional.
	SecretKey []byte

	// RemoteTLS names the PEM files for mutual TLS on Proto.Actor remote;
	// required when the nodes configure remote TLS. The client's
	// certificate must be signed by the nodes' CA. Optional.
	RemoteTLS hcluster.RemoteTLS

	// Logger receives the client's and Proto.Actor's logs. Nil discards.
	Logger *slog.Logger
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.GossipAddr == "" {
		c.GossipAddr = DefaultGossipAddr
	}
	if c.RemoteAddr == "" {
		c.RemoteAddr = DefaultRemoteAddr
	}
	if c.ClusterName == "" {
		c.ClusterName = DefaultClusterName
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate reports every problem in a defaulted config at once.
func (c Config) validate() error {
	var errs []error
	if len(c.Seeds) == 0 {
		errs = append(errs, errors.New("Seeds: at least one required"))
	}
	for i, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			errs = append(errs, fmt.Errorf("Seeds[%d]: %w", i, err))
		}
	}
	if _, _, err := splitHostPort(c.RemoteAddr); err != nil {
		errs = append(errs, fmt.Errorf("RemoteAddr: %w", err))
	}
	if err := c.RemoteTLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("RemoteTLS: %w", err))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("Timeout: %v is negative", c.Timeout))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}

// splitHostPort parses host:port with a numeric port.
func splitHostPort(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portText)
	}
	return host, port, nil
}
