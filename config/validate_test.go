package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestValidate breaks one rule per case and checks that exactly that field
// is reported.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		field  string
		want   string
	}{
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "data_dir", "is empty"},
		{"NUL in data dir", func(c *Config) { c.DataDir = "a\x00b" }, "data_dir", "NUL"},
		{"http addr no port", func(c *Config) { c.HTTPAddr = "localhost" },
			"http_addr", "not host:port"},
		{"http addr bad port", func(c *Config) { c.HTTPAddr = "127.0.0.1:70000" },
			"http_addr", "no valid port"},
		{"gossip addr", func(c *Config) { c.GossipAddr = "x" }, "gossip_addr", "not host:port"},
		{"remote addr", func(c *Config) { c.RemoteAddr = ":http" },
			"remote_addr", "no valid port"},
		{"remote clashes gossip", func(c *Config) { c.RemoteAddr = "127.0.0.1:7946" },
			"remote_addr", "same port as gossip_addr"},
		{"http wildcard clashes remote", func(c *Config) { c.HTTPAddr = ":8090" },
			"http_addr", "same port as remote_addr"},
		{"bad node name", func(c *Config) { c.NodeName = "node one" },
			"node_name", "1-64 of"},
		{"long node name", func(c *Config) { c.NodeName = strings.Repeat("n", 65) },
			"node_name", "1-64 of"},
		{"seed without port", func(c *Config) { c.Seeds = []string{"a:1", "b"} },
			"seeds[1]", "not host:port"},
		{"seed without host", func(c *Config) { c.Seeds = []string{":7946"} },
			"seeds[0]", "needs a host"},
		{"seed port zero", func(c *Config) { c.Seeds = []string{"a:0"} },
			"seeds[0]", "non-zero port"},
		{"advertised gossip without host", func(c *Config) { c.GossipAdvertiseAddr = ":7946" },
			"gossip_advertise_addr", "needs a host"},
		{"advertised remote without port", func(c *Config) { c.RemoteAdvertiseAddr = "10.0.0.5" },
			"remote_advertise_addr", "not host:port"},
		{"advertised http port zero", func(c *Config) { c.HTTPAdvertiseAddr = "10.0.0.5:0" },
			"http_advertise_addr", "non-zero port"},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, "log_level", "not one of"},
		{"empty cluster", func(c *Config) { c.ClusterName = "" }, "cluster_name", "1-64 of"},
		{"short bootstrap token", func(c *Config) { c.BootstrapToken = "short" },
			"bootstrap_token", "at least 16"},
		{"long bootstrap token",
			func(c *Config) { c.BootstrapToken = Secret(strings.Repeat("t", 257)) },
			"bootstrap_token", "at most 256"},
		{"bootstrap token space",
			func(c *Config) { c.BootstrapToken = "0123456789 abcdef" },
			"bootstrap_token", "whitespace"},
		{"remote tls key missing", func(c *Config) { c.RemoteTLSCA, c.RemoteTLSCert = "/", "/" },
			"remote_tls_key", "required when any remote_tls_* file is set"},
		{"remote tls file missing", func(c *Config) {
			c.RemoteTLSCA, c.RemoteTLSCert, c.RemoteTLSKey = "/", "/", "/nonexistent/key"
		}, "remote_tls_key", "is not readable"},
		{"gossip key not base64", func(c *Config) { c.GossipKey = "!!!!" },
			"gossip_key", "not base64"},
		{"gossip key length", func(c *Config) { c.GossipKey = "AAAAAAAAAAA=" },
			"gossip_key", "8 bytes, want 16, 24 or 32"},
		{"token ttl zero", func(c *Config) { c.TokenDefaultTTL = 0 },
			"token_default_ttl", "below 1s"},
		{"token ttl fraction", func(c *Config) { c.TokenDefaultTTL = 1500 * time.Millisecond },
			"token_default_ttl", "whole seconds"},
		{"token max ttl", func(c *Config) { c.TokenMaxTTL = time.Millisecond },
			"token_max_ttl", "below 1s"},
		{"default above max", func(c *Config) { c.TokenDefaultTTL = c.TokenMaxTTL + time.Second },
			"token_default_ttl", "exceeds token_max_ttl"},
		{"in flight zero", func(c *Config) { c.DeliveryMaxInFlight = 0 },
			"delivery_max_in_flight", "outside 1..10000"},
		{"queue too big", func(c *Config) { c.DeliveryQueueSize = 2000000 },
			"delivery_queue_size", "outside 1..1000000"},
		{"idle timeout", func(c *Config) { c.GrainIdleTimeout = time.Millisecond },
			"grain_idle_timeout", "outside"},
		{"soft sync zero", func(c *Config) { c.SoftSyncInterval = 0 },
			"soft_sync_interval", "outside"},
		{"soft sync long", func(c *Config) { c.SoftSyncInterval = time.Hour },
			"soft_sync_interval", "outside"},
		{"push timeout", func(c *Config) { c.PushTimeout = 0 }, "push_timeout", "outside"},
		{"push above max", func(c *Config) { c.PushTimeout = 121 * time.Second },
			"push_timeout", "exceeds push_max_timeout"},
		{"push max", func(c *Config) { c.PushMaxTimeout = 2 * time.Hour },
			"push_max_timeout", "outside"},
		{"feedback poll", func(c *Config) { c.FeedbackPollInterval = time.Millisecond },
			"feedback_poll_interval", "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(&c)
			fields := fieldErrors(t, c.Validate())
			if len(fields) != 1 || fields[0].Field != tt.field ||
				!strings.Contains(fields[0].Err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want one error on %s containing %q",
					fields, tt.field, tt.want)
			}
		})
	}
}

// fieldErrors unpacks Validate's result into its *FieldError parts.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	multi, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Validate error %T does not list its parts", err)
	}
	var out []*FieldError
	for _, part := range multi.Unwrap() {
		var fe *FieldError
		if !errors.As(part, &fe) {
			t.Fatalf("Validate part %v is not a *FieldError", part)
		}
		out = append(out, fe)
	}
	return out
}

func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.DataDir = ""
	c.LogLevel = "loud"
	c.DeliveryQueueSize = 0
	c.Seeds = []string{"nope"}
	err := c.Validate()
	var got []string
	for _, fe := range fieldErrors(t, err) {
		got = append(got, fe.Field)
	}
	want := "data_dir seeds[0] log_level delivery_queue_size"
	if strings.Join(got, " ") != want {
		t.Fatalf("Validate() fields = %q, want %q (error %v)", got, want, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("Validate() error is not one line: %q", err)
	}
}

func TestValidateAcceptsVariants(t *testing.T) {
	c := Default()
	c.HTTPAddr = ":8080"
	c.GossipAddr = "[::1]:7946"
	c.NodeName = "node-1.example"
	c.Seeds = []string{"10.0.0.1:7946", "node2.example:7946"}
	c.LogLevel = "WARN"
	c.BootstrapToken = "0123456789abcdef"
	c.GossipKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if c.SlogLevel() != slog.LevelWarn {
		t.Fatalf("SlogLevel() = %v, want WARN", c.SlogLevel())
	}
	if key, err := c.GossipKeyBytes(); len(key) != 32 || err != nil {
		t.Fatalf("GossipKeyBytes() = %d bytes, %v, want 32", len(key), err)
	}
}

// TestRedaction renders a config every way a caller might and checks that
// no secret appears, while the rendering still shows that one is set.
func TestRedaction(t *testing.T) {
	const token = "bootstrap-SECRET-0123456789"
	const key = "c2VjcmV0LWdvc3NpcC1rZXk="
	c := Default()
	c.BootstrapToken = token
	c.GossipKey = key

	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("config", "config", c)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("config", "config", c,
		"token", c.BootstrapToken)
	marshaled, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}

	renderings := map[string]string{
		"String":    c.String(),
		"%v":        fmt.Sprintf("%v", c),
		"%+v":       fmt.Sprintf("%+v", c),
		"%#v":       fmt.Sprintf("%#v", c),
		"%v ptr":    fmt.Sprintf("%v", &c),
		"secret %s": fmt.Sprintf("%s %v %#v", c.BootstrapToken, c.GossipKey, c.GossipKey),
		"json":      string(marshaled),
		"slog json": jsonLog.String(),
		"slog text": textLog.String(),
	}
	for name, out := range renderings {
		if strings.Contains(out, token) || strings.Contains(out, key) {
			t.Errorf("%s rendering leaks a secret: %s", name, out)
		}
		if !strings.Contains(out, "******") {
			t.Errorf("%s rendering does not show the redacted secret: %s", name, out)
		}
	}

	// Validation errors about a secret do not quote it either.
	c.BootstrapToken = "short secret"
	c.GossipKey = "not-base64-secret!"
	msg := c.Validate().Error()
	if strings.Contains(msg, "short secret") || strings.Contains(msg, "not-base64-secret") {
		t.Errorf("Validate() leaks a secret: %s", msg)
	}
}
