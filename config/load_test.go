package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herald.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(nil, nil)
	if err != nil {
		t.Fatalf("Load(nil, nil): %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load(nil, nil) = %v, want %v", c, Default())
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	lt := LocalTest()
	lt.DataDir = t.TempDir()
	if err := lt.Validate(); err != nil {
		t.Fatalf("LocalTest().Validate() = %v", err)
	}

	d := Default()
	want := Config{
		DataDir: "./data", HTTPAddr: "127.0.0.1:8080", GossipAddr: "127.0.0.1:7946",
		RemoteAddr: "127.0.0.1:8090", LogLevel: "info", ClusterName: "herald",
		TokenDefaultTTL: 5184000 * time.Second, TokenMaxTTL: 5184000 * time.Second,
		DeliveryMaxInFlight: 256, DeliveryQueueSize: 10000,
		GrainIdleTimeout: 10 * time.Minute, SoftSyncInterval: time.Second,
		PushTimeout: 30 * time.Second, PushMaxTimeout: 120 * time.Second,
		FeedbackPollInterval: 10 * time.Minute,
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("Default() = %v, want %v", d, want)
	}
}

// TestLoadLayering checks the order file < environment < flags, one
// setting at a time and all together.
func TestLoadLayering(t *testing.T) {
	file := writeFile(t, `
data_dir: /from/file
http_addr: 127.0.0.1:1001
seeds: [10.0.0.1:7946, "10.0.0.2:7946"]
token_max_ttl: 86400
grain_idle_timeout: 5m
bootstrap_token: file-token-0123456789
`)
	tests := []struct {
		name  string
		args  []string
		env   []string
		check func(c Config) (got, want any)
	}{
		{"file only", []string{"--config", file}, nil,
			func(c Config) (any, any) { return c.DataDir, "/from/file" }},
		{"file via HERALD_CONFIG", nil, []string{"HERALD_CONFIG=" + file},
			func(c Config) (any, any) { return c.DataDir, "/from/file" }},
		{"file list of seeds", []string{"--config", file}, nil,
			func(c Config) (any, any) {
				return c.Seeds, []string{"10.0.0.1:7946", "10.0.0.2:7946"}
			}},
		{"file bare seconds", []string{"--config", file}, nil,
			func(c Config) (any, any) { return c.TokenMaxTTL, 24 * time.Hour }},
		{"file duration", []string{"--config", file}, nil,
			func(c Config) (any, any) { return c.GrainIdleTimeout, 5 * time.Minute }},
		{"file secret", []string{"--config", file}, nil,
			func(c Config) (any, any) {
				return c.BootstrapToken.Reveal(), "file-token-0123456789"
			}},
		{"env over file", []string{"--config", file}, []string{"HERALD_DATA_DIR=/from/env"},
			func(c Config) (any, any) { return c.DataDir, "/from/env" }},
		{"env secret over file", []string{"--config", file},
			[]string{"HERALD_BOOTSTRAP_TOKEN=env-token-0123456789"},
			func(c Config) (any, any) {
				return c.BootstrapToken.Reveal(), "env-token-0123456789"
			}},
		{"env seeds", nil, []string{"HERALD_SEEDS= a:1 ,b:2,"},
			func(c Config) (any, any) { return c.Seeds, []string{"a:1", "b:2"} }},
		{"empty env clears", []string{"--config", file}, []string{"HERALD_SEEDS="},
			func(c Config) (any, any) { return c.Seeds, []string(nil) }},
		{"flag over env and file", []string{"--config", file, "--data-dir", "/from/flag"},
			[]string{"HERALD_DATA_DIR=/from/env"},
			func(c Config) (any, any) { return c.DataDir, "/from/flag" }},
		{"flag over file", []string{"--config=" + file, "--http-addr=127.0.0.1:1002"}, nil,
			func(c Config) (any, any) { return c.HTTPAddr, "127.0.0.1:1002" }},
		{"last flag wins", []string{"--node-name", "a", "-node-name", "b"}, nil,
			func(c Config) (any, any) { return c.NodeName, "b" }},
		{"flag config over env config", []string{"--config", file},
			[]string{"HERALD_CONFIG=/does/not/exist"},
			func(c Config) (any, any) { return c.DataDir, "/from/file" }},
		{"untouched keeps default", []string{"--config", file},
			[]string{"HERALD_HTTP_ADDR=127.0.0.1:1003"},
			func(c Config) (any, any) { return c.GossipAddr, "127.0.0.1:7946" }},
		{"every flag", []string{
			"--gossip-addr", "127.0.0.1:1", "--remote-addr", "127.0.0.1:2",
			"--gossip-advertise-addr", "10.0.0.5:1", "--remote-advertise-addr", "10.0.0.5:2",
			"--http-advertise-addr", "10.0.0.5:3", "--seeds", "x:1", "--log-level", "debug", "--cluster-name", "c1",
			"--token-default-ttl", "1h", "--token-max-ttl", "2h",
			"--delivery-max-in-flight", "7", "--delivery-queue-size", "70",
			"--grain-idle-timeout", "1m", "--soft-sync-interval", "200ms",
			"--push-timeout", "9s", "--push-max-timeout", "99s",
			"--feedback-poll-interval", "3m", "--remote-tls-ca", "/ca.pem",
			"--remote-tls-cert", "/n.pem", "--remote-tls-key", "/n.key"}, nil,
			func(c Config) (any, any) {
				return c.String(), strings.Join([]string{
					`data_dir=./data http_addr=127.0.0.1:8080 node_name="" gossip_addr=127.0.0.1:1`,
					`remote_addr=127.0.0.1:2 gossip_advertise_addr=10.0.0.5:1`,
					`remote_advertise_addr=10.0.0.5:2 http_advertise_addr=10.0.0.5:3`,
					`seeds=x:1 log_level=debug cluster_name=c1`,
					`bootstrap_token="" gossip_key="" token_default_ttl=1h0m0s`,
					`token_max_ttl=2h0m0s delivery_max_in_flight=7 delivery_queue_size=70`,
					`grain_idle_timeout=1m0s soft_sync_interval=200ms push_timeout=9s`,
					`push_max_timeout=1m39s feedback_poll_interval=3m0s`,
					`remote_tls_ca=/ca.pem remote_tls_cert=/n.pem remote_tls_key=/n.key`}, " ")
			}},
		{"every env", nil, []string{
			"HERALD_NODE_NAME=n7", "HERALD_GOSSIP_KEY=AAAAAAAAAAAAAAAAAAAAAA==",
			"HERALD_TOKEN_DEFAULT_TTL=60", "HERALD_DELIVERY_QUEUE_SIZE=5",
			"HERALD_SOFT_SYNC_INTERVAL=2s", "HERALD_PUSH_MAX_TIMEOUT=3m",
			"HERALD_UNRELATED=ignored", "PATH=/bin"},
			func(c Config) (any, any) {
				return []any{c.NodeName, c.GossipKey.Reveal(), c.TokenDefaultTTL,
						c.DeliveryQueueSize, c.SoftSyncInterval, c.PushMaxTimeout},
					[]any{"n7", "AAAAAAAAAAAAAAAAAAAAAA==", time.Minute, 5,
						2 * time.Second, 3 * time.Minute}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, tt.env)
			if err != nil {
				t.Fatalf("Load(%q, %q): %v", tt.args, tt.env, err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Fatalf("Load(%q, %q): got %v, want %v", tt.args, tt.env, got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		file string // YAML, written to a file named by --config
		want string
	}{
		{name: "unknown flag", args: []string{"--nope"}, want: "not defined: -nope"},
		{name: "secret as flag", args: []string{"--bootstrap-token", "x"},
			want: "not defined: -bootstrap-token"},
		{name: "flag bad duration", args: []string{"--push-timeout", "soon"},
			want: `"soon" is not a duration`},
		{name: "flag bad int", args: []string{"--delivery-queue-size", "many"},
			want: `"many" is not an integer`},
		{name: "flag missing value", args: []string{"--data-dir"}, want: "needs an argument"},
		{name: "positional", args: []string{"serve"}, want: `unexpected argument "serve"`},
		{name: "env bad duration", env: []string{"HERALD_GRAIN_IDLE_TIMEOUT=later"},
			want: "env HERALD_GRAIN_IDLE_TIMEOUT"},
		{name: "missing file", args: []string{"--config", "/does/not/exist.yaml"},
			want: "read config file"},
		{name: "unknown key", file: "data_dirr: x\n", want: `line 1: unknown key "data_dirr"`},
		{name: "list for scalar", file: "data_dir: [a, b]\n", want: "a list is not allowed"},
		{name: "mapping value", file: "seeds: {a: b}\n", want: "got a mapping"},
		{name: "file bad int", file: "delivery_max_in_flight: lots\n", want: "not an integer"},
		{name: "not a mapping", file: "- a\n- b\n", want: "top level is not a mapping"},
		{name: "bad yaml", file: "a: [\n", want: "config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			_, err := Load(args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load(%q) error = %v, want it to contain %q", args, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("Load(%q) error is not one line: %q", args, err)
			}
		})
	}

	_, err := Load([]string{"--help"}, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Load(--help) error = %v, want flag.ErrHelp", err)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	c, err := Load([]string{"--config", writeFile(t, "# nothing\n")}, nil)
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load(empty file) = %v, %v, want defaults", c, err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"5184000", 5184000 * time.Second, true},
		{" 10 ", 10 * time.Second, true},
		{"-5", 0, false},
		{"99999999999999999", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v, want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestPrintUsage(t *testing.T) {
	var b strings.Builder
	PrintUsage(&b)
	wants := []string{"-data-dir", "HERALD_DATA_DIR", "-seeds", "HERALD_BOOTSTRAP_TOKEN"}
	for _, want := range wants {
		if !strings.Contains(b.String(), want) {
			t.Errorf("PrintUsage lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "-bootstrap-token") {
		t.Errorf("PrintUsage offers a secret as a flag:\n%s", b.String())
	}
}
