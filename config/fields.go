package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// field describes one setting once, for every layer: its flag name
// (kebab-case), from which the YAML key (snake_case) and the environment
// variable (HERALD_ + upper snake) follow.
type field struct {
	name   string
	usage  string
	secret bool // not a flag (it would show in ps); printed redacted
	get    func(c *Config) string
	set    func(c *Config, v string) error
}

func (f field) yamlKey() string {
	return strings.ReplaceAll(f.name, "-", "_")
}

func (f field) envVar() string {
	return envPrefix + strings.ToUpper(f.yamlKey())
}

const envPrefix = "HERALD_"

// fields lists every setting in the order String prints them.
var fields = []field{
	stringField("data-dir", "directory of the node's data", func(c *Config) *string {
		return &c.DataDir
	}),
	stringField("http-addr", "host:port of the REST API", func(c *Config) *string {
		return &c.HTTPAddr
	}),
	stringField("node-name", "stable node name (default: derived from data dir)",
		func(c *Config) *string { return &c.NodeName }),
	stringField("gossip-addr", "host:port for memberlist gossip", func(c *Config) *string {
		return &c.GossipAddr
	}),
	stringField("remote-addr", "host:port for actor remote traffic", func(c *Config) *string {
		return &c.RemoteAddr
	}),
	stringField("gossip-advertise-addr", "host:port peers dial for gossip (default: bound)",
		func(c *Config) *string { return &c.GossipAdvertiseAddr }),
	stringField("remote-advertise-addr", "host:port peers dial for remote (default: bound)",
		func(c *Config) *string { return &c.RemoteAdvertiseAddr }),
	stringField("http-advertise-addr", "host:port peers use for REST health (default: bound)",
		func(c *Config) *string { return &c.HTTPAdvertiseAddr }),
	{
		name:  "seeds",
		usage: "comma-separated gossip addresses of nodes to join",
		get:   func(c *Config) string { return strings.Join(c.Seeds, ",") },
		set: func(c *Config, v string) error {
			c.Seeds = splitList(v)
			return nil
		},
	},
	stringField("log-level", "debug, info, warn or error", func(c *Config) *string {
		return &c.LogLevel
	}),
	stringField("cluster-name", "name shared by the nodes of one cluster",
		func(c *Config) *string { return &c.ClusterName }),
	secretField("bootstrap-token", func(c *Config) *Secret { return &c.BootstrapToken }),
	secretField("gossip-key", func(c *Config) *Secret { return &c.GossipKey }),
	durationField("token-default-ttl", "lifetime of a token that names no ttl",
		func(c *Config) *time.Duration { return &c.TokenDefaultTTL }),
	durationField("token-max-ttl", "longest token lifetime a request may ask",
		func(c *Config) *time.Duration { return &c.TokenMaxTTL }),
	intField("delivery-max-in-flight", "vendor requests in flight per notifier",
		func(c *Config) *int { return &c.DeliveryMaxInFlight }),
	intField("delivery-queue-size", "pushes queued per notifier before overload",
		func(c *Config) *int { return &c.DeliveryQueueSize }),
	durationField("grain-idle-timeout", "idle time before a grain passivates",
		func(c *Config) *time.Duration { return &c.GrainIdleTimeout }),
	durationField("soft-sync-interval", "how often soft state is fsynced",
		func(c *Config) *time.Duration { return &c.SoftSyncInterval }),
	durationField("push-timeout", "default wait of a push request",
		func(c *Config) *time.Duration { return &c.PushTimeout }),
	durationField("push-max-timeout", "longest wait a push request may ask",
		func(c *Config) *time.Duration { return &c.PushMaxTimeout }),
	durationField("feedback-poll-interval", "how often Xiaomi dead tokens are polled",
		func(c *Config) *time.Duration { return &c.FeedbackPollInterval }),
	stringField("remote-tls-ca", "PEM CA file for mutual TLS between nodes",
		func(c *Config) *string { return &c.RemoteTLSCA }),
	stringField("remote-tls-cert", "PEM certificate of this node for remote TLS",
		func(c *Config) *string { return &c.RemoteTLSCert }),
	stringField("remote-tls-key", "PEM private key of this node for remote TLS",
		func(c *Config) *string { return &c.RemoteTLSKey }),
}

func fieldByName(name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func stringField(name, usage string, ptr func(*Config) *string) field {
	return field{
		name:  name,
		usage: usage,
		get:   func(c *Config) string { return *ptr(c) },
		set: func(c *Config, v string) error {
			*ptr(c) = v
			return nil
		},
	}
}

func secretField(name string, ptr func(*Config) *Secret) field {
	return field{
		name:   name,
		secret: true,
		get:    func(c *Config) string { return ptr(c).String() },
		set: func(c *Config, v string) error {
			*ptr(c) = Secret(v)
			return nil
		},
	}
}

func durationField(name, usage string, ptr func(*Config) *time.Duration) field {
	return field{
		name:  name,
		usage: usage + " (e.g. 30s, 10m; a bare number is seconds)",
		get:   func(c *Config) string { return ptr(c).String() },
		set: func(c *Config, v string) error {
			d, err := parseDuration(v)
			if err != nil {
				return err
			}
			*ptr(c) = d
			return nil
		},
	}
}

func intField(name, usage string, ptr func(*Config) *int) field {
	return field{
		name:  name,
		usage: usage,
		get:   func(c *Config) string { return strconv.Itoa(*ptr(c)) },
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not an integer", v)
			}
			*ptr(c) = n
			return nil
		},
	}
}

// parseDuration accepts Go duration syntax ("90s", "1h30m") or a bare
// integer of seconds ("5184000"), the unit SPEC.md uses for token TTLs.
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(time.Duration(1<<63-1)/time.Second) || secs < 0 {
			return 0, fmt.Errorf("%q seconds is out of range", v)
		}
		return time.Duration(secs) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration", v)
	}
	return d, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
