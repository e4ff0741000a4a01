package cluster

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestClusterConfigValidate(t *testing.T) {
	good := Config{NodeName: "n1", GossipAddr: "127.0.0.1:7946"}
	tests := []struct {
		name   string
		change func(*Config)
		fields []string // every field the error must name; none = valid
	}{
		{"valid", func(*Config) {}, nil},
		{"any interface", func(c *Config) { c.GossipAddr = ":0" }, nil},
		{"seeds and key", func(c *Config) {
			c.Seeds = []string{"10.0.0.1:7946", "node2:7946"}
			c.SecretKey = make([]byte, 32)
		}, nil},
		{"no name", func(c *Config) { c.NodeName = "" }, []string{"NodeName"}},
		{"hostname bind", func(c *Config) { c.GossipAddr = "localhost:1" },
			[]string{"GossipAddr"}},
		{"no port", func(c *Config) { c.GossipAddr = "127.0.0.1" }, []string{"GossipAddr"}},
		{"big port", func(c *Config) { c.GossipAddr = "127.0.0.1:70000" },
			[]string{"GossipAddr"}},
		{"bad advertise", func(c *Config) { c.AdvertiseAddr = "x" },
			[]string{"AdvertiseAddr"}},
		{"bad seed", func(c *Config) { c.Seeds = []string{"ok:1", "nope"} },
			[]string{"Seeds[1]"}},
		{"bad key", func(c *Config) { c.SecretKey = []byte("short") }, []string{"SecretKey"}},
		{"all at once", func(c *Config) {
			c.NodeName, c.GossipAddr, c.SecretKey = "", "", []byte{1}
		}, []string{"NodeName", "GossipAddr", "SecretKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			err := c.validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("validate() = %v, want ErrInvalidConfig", err)
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("validate() = %q, want it to name %s", err, f)
				}
			}
		})
	}
}

func TestClusterNewProviderRejectsBadConfig(t *testing.T) {
	_, err := NewProvider(Config{GossipAddr: "127.0.0.1:0"})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewProvider(no name) = %v, want ErrInvalidConfig", err)
	}
}

func TestClusterMeta(t *testing.T) {
	m := nodeMeta{MemberID: "abc", Host: "10.0.0.7", Port: 8090, Kinds: []string{"app", "user"}}
	b, err := encodeMeta(m)
	if err != nil {
		t.Fatalf("encodeMeta(%+v): %v", m, err)
	}
	got, err := decodeMeta(b)
	if err != nil || got.MemberID != "abc" || got.Host != "10.0.0.7" || got.Port != 8090 ||
		strings.Join(got.Kinds, ",") != "app,user" || got.Client {
		t.Fatalf("decodeMeta(%s) = %+v, %v; want the encoded value", b, got, err)
	}

	long := m
	long.Kinds = []string{strings.Repeat("k", 600)}
	if _, err := encodeMeta(long); !errors.Is(err, ErrMetaTooLarge) {
		t.Errorf("encodeMeta(600-byte kind) = %v, want ErrMetaTooLarge", err)
	}

	bad := []string{
		``,
		`{`,
		`{"v":2,"id":"a","h":"h","p":1}`,
		`{"v":1,"h":"h","p":1}`,
		`{"v":1,"id":"a","h":"h","p":0}`,
		`{"v":1,"id":"a","h":"h","p":1,"c":true,"k":["user"]}`,
	}
	for _, in := range bad {
		if _, err := decodeMeta([]byte(in)); err == nil {
			t.Errorf("decodeMeta(%q) = nil error, want one", in)
		}
	}
}

func TestClusterMustExit(t *testing.T) {
	tests := []struct {
		peers, blockers int
		want            bool
	}{
		{0, 0, false},
		{1, 0, false},
		{1, 1, true},
		{2, 1, false},
		{2, 2, true},
		{3, 1, false},
		{3, 2, true},
		{4, 2, false},
		{4, 3, true},
	}
	for _, tt := range tests {
		if got := mustExit(tt.peers, tt.blockers); got != tt.want {
			t.Errorf("mustExit(%d, %d) = %v, want %v", tt.peers, tt.blockers, got, tt.want)
		}
	}
}

func TestClusterMemberlistLogLevels(t *testing.T) {
	tests := []struct {
		line  string
		level slog.Level
		msg   string
	}{
		{"[DEBUG] memberlist: Stream connection", slog.LevelDebug, "Stream connection"},
		{"[INFO] memberlist: Marking b as failed", slog.LevelInfo, "Marking b as failed"},
		{"[WARN] memberlist: Refuting", slog.LevelWarn, "Refuting"},
		{"[ERR] memberlist: Conflicting address", slog.LevelError, "Conflicting address"},
		{"plain text", slog.LevelInfo, "plain text"},
	}
	for _, tt := range tests {
		level, msg := splitLevel(tt.line)
		if level != tt.level || msg != tt.msg {
			t.Errorf("splitLevel(%q) = %v, %q; want %v, %q", tt.line, level, msg, tt.level, tt.msg)
		}
	}
}
