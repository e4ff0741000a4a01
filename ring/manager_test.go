package ring

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/cluster"
)

func viewNames(v View) []string { return names(v.Nodes) }

func TestManagerFoundsRingOfOne(t *testing.T) {
	h := newHarness(t, "a", nil)
	if v := h.m.View(); len(v.Nodes) != 0 {
		t.Fatalf("View before Start = %+v, want empty", v)
	}
	h.start()

	// Start's first step adds this node at once: a single node is a
	// stable ring of one, with nothing to migrate.
	v := h.m.View()
	if !slices.Equal(viewNames(v), []string{"a"}) || v.Epoch != 1 || v.Previous != nil {
		t.Fatalf("View after Start = %+v, want stable [a] at epoch 1", v)
	}
	if self := h.m.Self(); self != (Node{Name: "a", Address: "a:7000"}) {
		t.Fatalf("Self() = %+v", self)
	}
	// b is unknown to memberlist yet: reachable until declared dead.
	if !h.m.Alive("a") || !h.m.Alive("b") {
		t.Fatal("Alive: want a alive and the unknown b reachable")
	}
	if calls := h.migrate.callsNow(); len(calls) != 0 {
		t.Fatalf("Migrate called for a ring of one: %+v", calls)
	}

	// The state is on disk before anyone sees it.
	b, err := h.store.GetMeta(metaKey)
	if err != nil || b == nil {
		t.Fatalf("GetMeta(ring) = %v, %v", b, err)
	}
	if st, err := Unmarshal(b); err != nil || st.View.Epoch != 1 {
		t.Fatalf("persisted state = %+v, %v", st, err)
	}
}

// The whole life of a join: the new node enters with Previous set, this
// node migrates and reports done, and Previous is dropped only once the
// other live node reported done too.
func TestManagerJoinMigratesThenSettles(t *testing.T) {
	h := newHarness(t, "a", nil)
	h.start()

	h.members.set("b", cluster.MemberAlive)
	h.until("b joins", func() bool { return len(h.m.View().Nodes) == 2 })
	v := h.m.View()
	if v.Epoch != 2 || !slices.Equal(names(v.Previous), []string{"a"}) {
		t.Fatalf("View after join = %+v, want epoch 2 with previous [a]", v)
	}

	h.until("a's migration done", func() bool { return h.m.Status().Ring[0].Done })
	calls := h.migrate.callsNow()
	if len(calls) != 1 {
		t.Fatalf("Migrate called %d times, want 1", len(calls))
	}
	if got := calls[0]; !slices.Equal(viewNames(got.from), []string{"a"}) ||
		!slices.Equal(viewNames(got.to), []string{"a", "b"}) || got.to.Epoch != 2 {
		t.Fatalf("Migrate(from %+v, to %+v)", got.from, got.to)
	}

	// b is alive and has not reported: the migration is not over.
	h.clock.Advance(10 * h.m.cfg.PollInterval)
	if h.m.View().Previous == nil {
		t.Fatal("Previous dropped while b had not reported done")
	}

	// b's report arrives by gossip.
	peer, _ := State{View: v}.MarkDone("b", 2)
	h.gossip(peer)
	h.until("previous cleared", func() bool { return h.m.View().Previous == nil })
	if got := h.m.View(); got.Epoch != 2 {
		t.Fatalf("settling changed the epoch: %+v", got)
	}
}

func TestManagerDeadNodeStaysInRing(t *testing.T) {
	h := newHarness(t, "a", nil)
	h.members.set("b", cluster.MemberAlive)
	h.members.set("c", cluster.MemberAlive)
	h.start()
	h.until("three nodes", func() bool { return len(h.m.View().Nodes) == 3 })

	// c dies before it reported done: it holds nothing up, and it stays.
	h.members.set("c", cluster.MemberDead)
	epoch := h.m.View().Epoch
	peer, _ := State{View: h.m.View()}.MarkDone("b", epoch)
	h.gossip(peer)
	h.until("previous cleared", func() bool { return h.m.View().Previous == nil })

	if !slices.Equal(viewNames(h.m.View()), []string{"a", "b", "c"}) {
		t.Fatalf("View = %+v, want the dead node kept", h.m.View())
	}
	if h.m.Alive("c") {
		t.Fatal("Alive(c) = true for a dead node")
	}
	st := h.m.Status()
	if st.Ring[2].Name != "c" || st.Ring[2].State != StateDead || !st.Ring[2].InRing {
		t.Fatalf("Status ring = %+v", st.Ring)
	}
}

func TestManagerRemoveTombstones(t *testing.T) {
	h := newHarness(t, "a", nil)
	h.members.set("b", cluster.MemberAlive)
	h.members.set("c", cluster.MemberAlive)
	h.start()
	h.until("three nodes", func() bool { return len(h.m.View().Nodes) == 3 })
	h.members.set("c", cluster.MemberDead)
	before := h.m.View()

	ctx := context.Background()
	if err := h.m.Remove(ctx, "c"); err != nil {
		t.Fatalf("Remove(c): %v", err)
	}
	v := h.m.View()
	if !slices.Equal(viewNames(v), []string{"a", "b"}) || v.Epoch != before.Epoch+1 {
		t.Fatalf("View after Remove = %+v", v)
	}
	wantPrev := before.Previous
	if wantPrev == nil {
		wantPrev = before.Nodes
	}
	if !slices.Equal(names(v.Previous), names(wantPrev)) {
		t.Fatalf("Previous after Remove = %v, want %v", names(v.Previous), names(wantPrev))
	}
	st := h.m.Status()
	if _, ok := st.Tombstones["c"]; !ok {
		t.Fatalf("Status tombstones = %v, want c", st.Tombstones)
	}

	// The removal is on disk before Remove returned.
	b, _ := h.store.GetMeta(metaKey)
	if disk, err := Unmarshal(b); err != nil || !disk.Removed("c") {
		t.Fatalf("persisted state = %+v, %v; want c tombstoned", disk, err)
	}

	// c comes back to life: it never rejoins.
	h.members.set("c", cluster.MemberAlive)
	h.until("c seen alive again", func() bool {
		for _, ms := range h.m.Status().Members {
			if ms.Name == "c" && ms.State == StateAlive {
				return true
			}
		}
		return false
	})
	h.until("a migrated for the removal", func() bool {
		return h.m.published().DoneFor("a") && h.m.View().Epoch == v.Epoch
	})
	if slices.Contains(viewNames(h.m.View()), "c") {
		t.Fatalf("a removed node rejoined: %+v", h.m.View())
	}

	// Removing it again is not an error; unknown and empty names are.
	if err := h.m.Remove(ctx, "c"); err != nil {
		t.Fatalf("Remove(c) again = %v", err)
	}
	if err := h.m.Remove(ctx, "zz"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("Remove(zz) = %v, want ErrUnknownNode", err)
	}
	if err := h.m.Remove(ctx, ""); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Remove(\"\") = %v, want ErrInvalidName", err)
	}
}

func TestManagerGossipedTombstoneKeepsNodeOut(t *testing.T) {
	h := newHarness(t, "a", nil)
	h.start()
	peer := State{View: View{Epoch: 5, Nodes: ns("a", "b")},
		Tombstones: map[string]uint64{"c": 4}}
	h.gossip(peer)
	h.until("peer state adopted", func() bool { return h.m.View().Epoch >= 5 })

	h.members.set("c", cluster.MemberAlive)
	h.members.set("d", cluster.MemberAlive)
	h.until("d joins", func() bool { return contains(h.m.View().Nodes, "d") })
	if contains(h.m.View().Nodes, "c") {
		t.Fatalf("tombstoned c joined: %+v", h.m.View())
	}
}

func TestManagerRetriesFailedMigration(t *testing.T) {
	h := newHarness(t, "a", nil)
	h.start()
	h.migrate.configure(true, false)
	h.members.set("b", cluster.MemberAlive)
	h.until("first attempt", func() bool { return len(h.migrate.callsNow()) >= 1 })
	h.until("second attempt", func() bool { return len(h.migrate.callsNow()) >= 2 })
	if h.m.published().DoneFor("a") {
		t.Fatal("a failed migration was reported done")
	}

	h.migrate.configure(false, false)
	h.until("done after a retry", func() bool { return h.m.published().DoneFor("a") })
}

// A migration the ring moved past is cancelled and a new one starts for
// the new epoch.
func TestManagerCancelsStaleMigration(t *testing.T) {
	h := newHarness(t, "a", nil)
	h.start()
	h.migrate.configure(false, true)
	h.members.set("b", cluster.MemberAlive)
	h.until("migration for b running", func() bool { return len(h.migrate.callsNow()) == 1 })

	h.members.set("c", cluster.MemberAlive)
	h.until("migration for c running", func() bool { return len(h.migrate.callsNow()) == 2 })
	calls := h.migrate.callsNow()
	if calls[1].to.Epoch <= calls[0].to.Epoch || !contains(calls[1].to.Nodes, "c") {
		t.Fatalf("second migration = %+v", calls[1].to)
	}
	// The previous set is still the last stable ring, [a].
	if !slices.Equal(names(calls[1].from.Nodes), []string{"a"}) {
		t.Fatalf("second migration from = %+v, want [a]", calls[1].from)
	}
	h.migrate.release()
	h.until("done for the new epoch", func() bool { return h.m.published().DoneFor("a") })
	if got := h.m.published().Done["a"]; got != calls[1].to.Epoch {
		t.Fatalf("done epoch = %d, want %d", got, calls[1].to.Epoch)
	}
}

func TestManagerIgnoresClientsAndUnstartedMembers(t *testing.T) {
	h := newHarness(t, "a", nil)
	h.members.add(cluster.MemberInfo{Name: "im-core", MemberID: "x", Address: "c:1",
		State: cluster.MemberAlive, Client: true})
	h.members.add(cluster.MemberInfo{Name: "booting", Address: ":0", State: cluster.MemberAlive})
	h.start()
	h.clock.Advance(h.m.cfg.PollInterval)
	h.until("a step", func() bool { return h.m.View().Epoch == 1 })
	if v := h.m.View(); len(v.Nodes) != 1 {
		t.Fatalf("View = %+v, want only a", v)
	}
	for _, ms := range h.m.Status().Members {
		if ms.Name == "im-core" {
			t.Fatal("Status lists a client")
		}
	}
}

func TestManagerReloadsPersistedState(t *testing.T) {
	store := openStore(t, t.TempDir())
	h := newHarness(t, "a", store)
	h.members.set("b", cluster.MemberAlive)
	h.start()
	h.until("b joins", func() bool { return len(h.m.View().Nodes) == 2 })
	if err := h.m.Remove(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	h.m.Stop() // no change after this; a migration may have just ended
	want := h.m.published()

	again := newHarness(t, "a", store)
	if got := again.m.published(); !got.Equal(want) {
		t.Fatalf("reloaded state = %+v, want %+v", got, want)
	}
}

// Two managers that exchange their states the way memberlist's push/pull
// does agree on the ring.
func TestManagersConvergeByGossip(t *testing.T) {
	a := newHarness(t, "a", nil)
	b := newHarness(t, "b", nil)
	for _, h := range []*harness{a, b} {
		h.members.set("a", cluster.MemberAlive)
		h.members.set("b", cluster.MemberAlive)
		h.start()
	}
	exchange := func() {
		a.m.MergeRemoteState(b.m.LocalState(false), false)
		b.m.MergeRemoteState(a.m.LocalState(false), false)
	}
	// Each round is one push/pull between the two and one poll on each;
	// the loops run on their own goroutines, so poll with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for !a.m.published().Equal(b.m.published()) || a.m.View().Previous != nil {
		if time.Now().After(deadline) {
			t.Fatalf("no convergence:\na %+v\nb %+v", a.m.published(), b.m.published())
		}
		exchange()
		a.clock.Advance(a.m.cfg.PollInterval)
		b.clock.Advance(b.m.cfg.PollInterval)
		time.Sleep(time.Millisecond)
	}
	if !slices.Equal(viewNames(a.m.View()), []string{"a", "b"}) {
		t.Fatalf("converged view = %+v", a.m.View())
	}
}

func TestManagerRejectsBadConfigAndCalls(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New(Config{}) = nil error")
	}
	h := newHarness(t, "a", nil)
	if err := h.m.Remove(context.Background(), "a"); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Remove before Start = %v, want ErrNotStarted", err)
	}
	h.start()
	if err := h.m.Start(h.members); err == nil {
		t.Fatal("second Start = nil error")
	}
	if err := h.m.Remove(context.Background(), "a"); !errors.Is(err, ErrLastNode) {
		t.Fatalf("Remove(last) = %v, want ErrLastNode", err)
	}
	h.m.MergeRemoteState([]byte("garbage"), false) // dropped, not fatal
	h.m.Stop()
	if err := h.m.Remove(context.Background(), "a"); !errors.Is(err, ErrStopped) {
		t.Fatalf("Remove after Stop = %v, want ErrStopped", err)
	}
}

// gossip hands st to the manager as a peer's push/pull would.
func (h *harness) gossip(st State) {
	h.t.Helper()
	b, err := st.Marshal()
	if err != nil {
		h.t.Fatal(err)
	}
	h.m.MergeRemoteState(b, false)
}

// state2 is the published state, for assertions.
func (m *Manager) published() State { return m.snap.Load().state }

// failingStore is a real store whose writes fail while broken is set.
type failingStore struct {
	MetaStore
	mu     sync.Mutex
	broken bool
}

func (f *failingStore) PutMeta(key string, value []byte) error {
	f.mu.Lock()
	broken := f.broken
	f.mu.Unlock()
	if broken {
		return errors.New("injected write failure")
	}
	return f.MetaStore.PutMeta(key, value)
}

func (f *failingStore) setBroken(b bool) {
	f.mu.Lock()
	f.broken = b
	f.mu.Unlock()
}

func TestManagerSurvivesStoreFailures(t *testing.T) {
	store := &failingStore{MetaStore: openStore(t, t.TempDir())}
	clock, members := newFakeClock(), newFakeMembers()
	members.set("a", cluster.MemberAlive)
	members.set("b", cluster.MemberAlive)
	m, err := New(Config{NodeName: "a", Store: store, Clock: clock,
		Migrate: newFakeMigrate().Migrate, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if err := m.Start(members); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, m: m, clock: clock, members: members}
	h.until("two nodes", func() bool { return len(m.View().Nodes) == 2 })

	// A removal that cannot be persisted is refused and changes nothing.
	store.setBroken(true)
	before := m.View()
	if err := m.Remove(context.Background(), "b"); err == nil {
		t.Fatal("Remove with a failing store = nil error")
	}
	if v := m.View(); v.Epoch != before.Epoch || !contains(v.Nodes, "b") {
		t.Fatalf("View after a failed Remove = %+v, want %+v", v, before)
	}

	// A join while the store fails is kept in memory and written once
	// the store works again.
	members.set("c", cluster.MemberAlive)
	h.until("c joins in memory", func() bool { return contains(m.View().Nodes, "c") })
	store.setBroken(false)
	h.until("c persisted", func() bool {
		b, _ := store.GetMeta(metaKey)
		st, err := Unmarshal(b)
		return err == nil && contains(st.View.Nodes, "c")
	})
}
