package ring

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/herald-im/herald/cluster"
)

func TestStatusListsMembersAndRing(t *testing.T) {
	h := newHarness(t, "a", nil)
	h.members.set("b", cluster.MemberAlive)
	h.members.add(cluster.MemberInfo{Name: "im", MemberID: "x", Address: "im:1",
		State: cluster.MemberAlive, Client: true})
	h.start()
	h.until("b joins", func() bool { return len(h.m.View().Nodes) == 2 })

	// c is in the ring by gossip only; this node never saw it.
	v := h.m.View()
	peer := State{View: View{Epoch: v.Epoch + 1, Nodes: ns("a", "b", "c"),
		Previous: v.Nodes}}
	peer.View.Nodes[0], peer.View.Nodes[1] = v.Nodes[0], v.Nodes[1]
	h.gossip(peer)
	h.until("c known", func() bool { return len(h.m.View().Nodes) == 3 })

	st := h.m.Status()
	if st.Self != "a" || st.Stable || st.Epoch != v.Epoch+1 || len(st.Previous) != 2 {
		t.Fatalf("Status = %+v", st)
	}
	var got []string
	for _, m := range st.Members {
		got = append(got, m.Name+"/"+m.State)
	}
	want := []string{"a/alive", "b/alive", "c/dead"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("Status members = %v, want %v", got, want)
	}
	if len(st.Ring) != 3 || !st.Ring[2].InRing || st.Ring[2].Address != "c:7000" {
		t.Fatalf("Status ring = %+v", st.Ring)
	}
}

func TestProbeHealth(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"ready"}`))
	}))
	defer ready.Close()
	missing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"cluster not joined"}`))
	}))
	defer missing.Close()
	urls := map[string]string{"a": ready.URL, "b": missing.URL}
	st := Status{Members: []MemberStatus{
		{Name: "a", State: StateAlive, InRing: true},
		{Name: "b", State: StateAlive, InRing: true},
		{Name: "c", State: StateDead, InRing: true},
		{Name: "e", State: StateAlive},
	}}
	st.Ring = []MemberStatus{st.Members[0], st.Members[1], st.Members[2]}
	probe := HTTPProbe(http.DefaultClient, func(m MemberStatus) string { return urls[m.Name] })
	st.ProbeHealth(context.Background(), probe)

	want := map[string]string{"a": "ready", "b": "cluster not joined", "c": StateDead,
		"e": Unreachable}
	for _, m := range st.Members {
		if m.Health != want[m.Name] {
			t.Errorf("health of %s = %q, want %q", m.Name, m.Health, want[m.Name])
		}
	}
	if st.Ring[1].Health != "cluster not joined" || st.Ring[2].Health != StateDead {
		t.Errorf("ring health = %+v", st.Ring)
	}
}

// A probe that never returns does not hold ProbeHealth past its context.
func TestProbeHealthGivesUpWithContext(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	st := Status{Members: []MemberStatus{
		{Name: "a", State: StateAlive},
		{Name: "b", State: StateDead},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st.ProbeHealth(ctx, func(context.Context, MemberStatus) string {
		<-stuck
		return "ready"
	})
	if st.Members[0].Health != Unreachable || st.Members[1].Health != StateDead {
		t.Fatalf("health = %+v", st.Members)
	}
}
