package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/ring"
)

// clusterBackend is the fake backend plus the operator surface, over a
// ring state the test controls.
type clusterBackend struct {
	*fakeBackend

	mu      sync.Mutex
	state   ring.State
	removed []string
	fail    error
}

func (b *clusterBackend) ClusterStatus(ctx context.Context) (any, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return nil, b.fail
	}
	st := ring.Status{Self: "a", Epoch: b.state.View.Epoch, Stable: b.state.View.Previous == nil,
		Previous: b.state.View.Previous, Tombstones: b.state.Tombstones}
	for _, n := range b.state.View.Nodes {
		ms := ring.MemberStatus{Name: n.Name, Address: n.Address, State: ring.StateAlive,
			InRing: true}
		st.Members = append(st.Members, ms)
		st.Ring = append(st.Ring, ms)
	}
	st.ProbeHealth(ctx, func(context.Context, ring.MemberStatus) string { return "ready" })
	return st, nil
}

func (b *clusterBackend) RemoveNode(ctx context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	next, changed, err := b.state.Remove(name)
	if err != nil {
		return err
	}
	if changed {
		b.removed = append(b.removed, name)
	}
	b.state = next
	return nil
}

func newClusterHarness(t *testing.T) (*harness, *clusterBackend) {
	t.Helper()
	h := newHarness(t)
	cb := &clusterBackend{fakeBackend: h.be}
	for _, name := range []string{"a", "b", "c"} {
		cb.state, _ = cb.state.Join(ring.Node{Name: name, Address: name + ":7000"})
	}
	h.srv = New(Options{
		Backend:        cb,
		BootstrapToken: bootstrap,
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Now:            func() time.Time { return h.now },
	})
	return h, cb
}

func TestAdminNeedsBootstrapToken(t *testing.T) {
	h, _ := newClusterHarness(t)
	appTok := h.appToken("org", "app")

	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/cluster"},
		{"DELETE", "/admin/cluster/nodes/b"},
	} {
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + appTok, "Basic " + bootstrap} {
			r := h.doHeader(tc.method, tc.path, auth)
			if r.status != 401 {
				t.Errorf("%s %s with %.12q = %d, want 401", tc.method, tc.path, auth, r.status)
			}
		}
	}
}

func TestAdminNotFoundWithoutClusterBackend(t *testing.T) {
	h := newHarness(t) // the plain fake does not implement ClusterAdmin
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/cluster"},
		{"DELETE", "/admin/cluster/nodes/b"},
	} {
		r := h.do(tc.method, tc.path, bootstrap, "")
		wantError(t, r, 404, "service_resource_not_found", "url is invalid")
	}
}

func TestAdminClusterStatus(t *testing.T) {
	h, _ := newClusterHarness(t)
	r := h.do("GET", "/admin/cluster", bootstrap, "")
	if r.status != 200 {
		t.Fatalf("GET /admin/cluster = %d %s", r.status, r.raw)
	}
	data, ok := r.body["data"].(map[string]any)
	if !ok {
		t.Fatalf("answer has no data object: %s", r.raw)
	}
	if data["epoch"] != float64(3) || data["stable"] != false || data["self"] != "a" {
		t.Fatalf("data = %v", data)
	}
	members, _ := data["members"].([]any)
	if len(members) != 3 {
		t.Fatalf("members = %v, want 3", members)
	}
	for i, want := range []string{"a", "b", "c"} {
		m := members[i].(map[string]any)
		if m["name"] != want || m["state"] != "alive" || m["health"] != "ready" ||
			m["in_ring"] != true {
			t.Errorf("members[%d] = %v", i, m)
		}
	}
	if prev, _ := data["previous"].([]any); len(prev) != 1 {
		t.Errorf("previous = %v, want [a]", data["previous"])
	}
	if r.body["path"] != "/admin/cluster" || r.body["action"] != "get" {
		t.Errorf("envelope = %v", r.body)
	}
}

func TestAdminRemoveNode(t *testing.T) {
	h, cb := newClusterHarness(t)

	r := h.do("DELETE", "/admin/cluster/nodes/b", bootstrap, "")
	if r.status != 200 {
		t.Fatalf("DELETE b = %d %s", r.status, r.raw)
	}
	data, _ := r.body["data"].(map[string]any)
	if data["name"] != "b" || data["removed"] != true {
		t.Fatalf("data = %v", data)
	}
	if !cb.state.Removed("b") || len(cb.removed) != 1 {
		t.Fatalf("backend state after DELETE: %+v", cb.state)
	}

	// Idempotent: a second DELETE succeeds and changes nothing.
	if r := h.do("DELETE", "/admin/cluster/nodes/b", bootstrap, ""); r.status != 200 {
		t.Fatalf("second DELETE b = %d %s", r.status, r.raw)
	}
	if len(cb.removed) != 1 {
		t.Fatalf("second DELETE removed again: %v", cb.removed)
	}

	tests := []struct {
		name, path  string
		status      int
		code, descr string
	}{
		{"unknown", "/admin/cluster/nodes/zz", 404, "service_resource_not_found",
			`node "zz" is not in the ring`},
		{"escaped name", "/admin/cluster/nodes/n%2F1", 404, "service_resource_not_found",
			`node "n/1" is not in the ring`},
		{"too long", "/admin/cluster/nodes/" + strings.Repeat("x", 300), 400,
			"illegal_argument", "parameters is invalid : name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, h.do("DELETE", tt.path, bootstrap, ""), tt.status, tt.code, tt.descr)
		})
	}

	if r := h.do("DELETE", "/admin/cluster/nodes/c", bootstrap, ""); r.status != 200 {
		t.Fatalf("DELETE c = %d %s", r.status, r.raw)
	}
	wantError(t, h.do("DELETE", "/admin/cluster/nodes/a", bootstrap, ""), 403, "forbidden_op",
		"cannot remove the last node of the ring")
}

func TestAdminBackendFailures(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("remove: %w", context.DeadlineExceeded), 503, "service_unavailable"},
		{ring.ErrStopped, 503, "service_unavailable"},
		{errors.New("disk on fire"), 500, "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			h, cb := newClusterHarness(t)
			cb.fail = tt.err
			for _, method := range []string{"GET", "DELETE"} {
				path := "/admin/cluster"
				if method == "DELETE" {
					path += "/nodes/b"
				}
				r := h.do(method, path, bootstrap, "")
				if r.status != tt.status || r.body["error"] != tt.code {
					t.Errorf("%s %s = %d %s, want %d %s", method, path, r.status, r.raw,
						tt.status, tt.code)
				}
			}
		})
	}
}
