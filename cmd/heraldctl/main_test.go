package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/herald-im/herald/api"
	"github.com/herald-im/herald/ring"
)

const token = "boot-secret"

// adminBackend serves the operator endpoints over a ring.State; every
// other Backend method is left out (nil), as the admin routes use none.
type adminBackend struct {
	api.Backend

	mu     sync.Mutex
	state  ring.State
	health map[string]string
	dead   map[string]bool
}

func (b *adminBackend) ClusterStatus(ctx context.Context) (any, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := b.state.View
	st := ring.Status{Self: "node-a", Epoch: v.Epoch, Stable: v.Previous == nil,
		Previous: v.Previous, Tombstones: b.state.Tombstones}
	for _, n := range v.Nodes {
		ms := ring.MemberStatus{Name: n.Name, Address: n.Address, State: ring.StateAlive,
			InRing: true, Done: b.state.DoneFor(n.Name)}
		if b.dead[n.Name] {
			ms.State = ring.StateDead
		}
		st.Members = append(st.Members, ms)
		st.Ring = append(st.Ring, ms)
	}
	for name := range b.state.Tombstones {
		st.Members = append(st.Members, ring.MemberStatus{Name: name, State: ring.StateAlive,
			Removed: true, Address: name + ":1"})
	}
	st.ProbeHealth(ctx, func(_ context.Context, m ring.MemberStatus) string {
		return b.health[m.Name]
	})
	return st, nil
}

func (b *adminBackend) RemoveNode(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	next, _, err := b.state.Remove(name)
	if err != nil {
		return err
	}
	b.state = next
	return nil
}

// serve starts a real REST server over a three-node ring.
func serve(t *testing.T) (*httptest.Server, *adminBackend) {
	t.Helper()
	be := &adminBackend{
		health: map[string]string{"node-a": "ready", "node-b": "ready", "node-c": "ready"},
		dead:   map[string]bool{},
	}
	for _, name := range []string{"node-a", "node-b", "node-c"} {
		be.state, _ = be.state.Join(ring.Node{Name: name, Address: "127.0.0.1:70" + name[5:]})
	}
	be.state, _ = be.state.Settle(func(string) bool { return false })
	srv := httptest.NewServer(api.New(api.Options{Backend: be, BootstrapToken: token,
		Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	return srv, be
}

// ctl runs heraldctl with args and HERALD_BOOTSTRAP_TOKEN=envToken.
func ctl(envToken string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "HERALD_BOOTSTRAP_TOKEN" {
			return envToken
		}
		return ""
	}
	code = run(args, getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMembersTable(t *testing.T) {
	srv, be := serve(t)
	be.dead["node-c"] = true
	be.state, _, _ = be.state.Remove("node-c")
	be.state, _ = be.state.Join(ring.Node{Name: "node-d", Address: "127.0.0.1:70d"})

	code, out, errOut := ctl(token, "--addr", srv.URL, "members")
	want := "" +
		"NAME           STATE  RING     ADDRESS        HEALTH\n" +
		"node-a (self)  alive  yes      127.0.0.1:70a  ready\n" +
		"node-b         alive  yes      127.0.0.1:70b  ready\n" +
		"node-d         alive  yes      127.0.0.1:70d  unreachable\n" +
		"node-c         alive  removed  node-c:1       ready\n"
	if code != 0 || out != want {
		t.Fatalf("members = %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
}

func TestRingTable(t *testing.T) {
	srv, be := serve(t)
	be.dead["node-c"] = true
	be.state, _, _ = be.state.Remove("node-c")
	be.state, _ = be.state.MarkDone("node-a", be.state.View.Epoch)

	code, out, errOut := ctl("", "ring", "--addr", srv.URL, "--token", token)
	want := "" +
		"epoch 4, migrating from node-a, node-b, node-c\n" +
		"NODE    ADDRESS        STATE  DONE\n" +
		"node-a  127.0.0.1:70a  alive  yes\n" +
		"node-b  127.0.0.1:70b  alive  no\n" +
		"removed: node-c (epoch 4)\n"
	if code != 0 || out != want {
		t.Fatalf("ring = %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
}

func TestHealth(t *testing.T) {
	srv, be := serve(t)
	code, out, _ := ctl(token, "--addr", srv.URL, "health")
	if code != 0 || !strings.Contains(out, "node-b  alive  ready") {
		t.Fatalf("health (all ready) = %d\n%s", code, out)
	}

	be.health["node-b"] = "cluster not joined"
	be.dead["node-c"] = true
	code, out, errOut := ctl(token, "--addr", srv.URL, "health")
	if code != 1 {
		t.Fatalf("health (one unready) exit = %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "node-b  alive  cluster not joined") ||
		!strings.Contains(out, "node-c  dead   dead") {
		t.Fatalf("health table:\n%s", out)
	}
	wantErr := "heraldctl: not ready: node-b (cluster not joined), node-c (dead)\n"
	if errOut != wantErr {
		t.Fatalf("health stderr = %q, want %q", errOut, wantErr)
	}
}

func TestRemove(t *testing.T) {
	srv, be := serve(t)
	code, out, errOut := ctl(token, "--addr", srv.URL, "remove", "node-c")
	if code != 0 || out != "removed node-c from the ring\n" || errOut != "" {
		t.Fatalf("remove = %d %q %q", code, out, errOut)
	}
	if !be.state.Removed("node-c") {
		t.Fatal("node-c not removed on the server")
	}

	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown", []string{"remove", "node-zz"},
			`heraldctl: remove node-zz: 404 service_resource_not_found: node "node-zz" is not in the ring`},
		{"slash in name", []string{"remove", "a/b"},
			`heraldctl: remove a/b: 404 service_resource_not_found: node "a/b" is not in the ring`},
		{"wrong token", []string{"--token", "nope", "members"},
			"heraldctl: cluster status: 401 unauthorized: Unable to authenticate (OAuth)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := ctl(token, append([]string{"--addr", srv.URL}, tt.args...)...)
			if code != 1 || errOut != tt.wantErr+"\n" {
				t.Fatalf("exit %d, stderr %q; want 1, %q", code, errOut, tt.wantErr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		args    []string
		wantErr string
	}{
		{"no command", token, nil, "no command"},
		{"unknown command", token, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"remove without name", token, []string{"remove"}, "remove: want exactly one node name"},
		{"remove with two names", token, []string{"remove", "a", "b"},
			"remove: want exactly one node name"},
		{"extra argument", token, []string{"ring", "x"}, `ring: unexpected argument "x"`},
		{"no token", "", []string{"members"}, "no token"},
		{"bad addr", token, []string{"--addr", "127.0.0.1:8080", "members"}, "--addr"},
		{"bad flag", token, []string{"--nope", "members"}, "flag provided but not defined"},
		{"bad timeout", token, []string{"--timeout", "-1s", "members"}, "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := ctl(tt.env, tt.args...)
			if code != 2 || out != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "heraldctl: ") || !strings.Contains(last, tt.wantErr) {
				t.Fatalf("stderr %q, want one line with %q", errOut, tt.wantErr)
			}
		})
	}
}
