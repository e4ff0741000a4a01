package replication

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-im/herald/persistence"
)

// TestAntiEntropyHealsLaggingReplica: c misses writes while it is dead; an
// anti-entropy pass on a copies them over, and a second pass finds
// nothing to do.
func TestAntiEntropyHealsLaggingReplica(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	a, cn := c.node("a"), c.node("c")

	const keys = 300 // more than one RegVersions batch
	leases := make([]persistence.Lease, keys)
	for i := range keys {
		leases[i], _ = activate(t, a, userKey(i))
		write(t, a, leases[i], "before")
	}
	// A write is acknowledged by two replicas; let the third catch up so
	// that the only lag is the one made below.
	for i := range keys {
		waitStored(t, c.node("b"), userKey(i), "before")
		waitStored(t, cn, userKey(i), "before")
	}
	// c is really down: a request still on its way when c returns goes to
	// its old address, so the only lag is the one made here.
	cn.stop()
	for i := 0; i < keys; i += 3 {
		write(t, a, leases[i], fmt.Sprintf("missed %d", i))
	}
	cn.start()
	// With c dead every write needed b.
	for i := 0; i < keys; i += 3 {
		waitStored(t, c.node("b"), userKey(i), fmt.Sprintf("missed %d", i))
	}

	ae, err := NewAntiEntropy(a.regs, time.Hour)
	if err != nil {
		t.Fatalf("NewAntiEntropy: %v", err)
	}
	stats, err := ae.Pass(context.Background())
	if err != nil {
		t.Fatalf("Pass: %v", err)
	}
	if stats.Repaired != keys/3 || stats.Compared != 2*keys {
		t.Fatalf("Pass = %+v, want %d repaired of %d compared", stats, keys/3, 2*keys)
	}
	for i := range keys {
		want := "before"
		if i%3 == 0 {
			want = fmt.Sprintf("missed %d", i)
		}
		va, _ := stored(t, a, userKey(i))
		vc, got := stored(t, cn, userKey(i))
		if got != want || vc != va {
			t.Fatalf("c holds %q at %v for key %d, want %q at %v", got, vc, i, want, va)
		}
	}
	stats, err = ae.Pass(context.Background())
	if err != nil || stats.Repaired != 0 {
		t.Fatalf("second Pass = %+v, %v, want nothing repaired", stats, err)
	}
}

// TestAntiEntropyRunsOnTrigger: Run repairs after Trigger without waiting
// for its interval.
func TestAntiEntropyRunsOnTrigger(t *testing.T) {
	c := startCluster(t, "a", "b")
	a, b := c.node("a"), c.node("b")
	l, _ := activate(t, a, userKey(1))
	c.m.setDead("b", true)
	// A ring of two needs both; write on a's store directly as a lease
	// that reached only a would have.
	ballot := l.(*lease).ballot
	if ok, _, err := a.store.Accept(userKey(1), ballot, 5, []byte("only on a")); !ok || err != nil {
		t.Fatalf("Accept = %v, %v", ok, err)
	}
	c.m.setDead("b", false)

	ae, err := NewAntiEntropy(a.regs, time.Hour)
	if err != nil {
		t.Fatalf("NewAntiEntropy: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ae.Run(ctx) }()
	defer func() { cancel(); <-done }()
	ae.Trigger()
	waitFor(t, "b to learn a's value", func() bool {
		_, v := stored(t, b, userKey(1))
		return v == "only on a"
	})

	if _, err := NewAntiEntropy(a.regs, -time.Second); err == nil {
		t.Fatal("NewAntiEntropy with a negative interval succeeded")
	}
}

// TestLearnOverTheWireNeverOverwritesNewer sends RegLearn to another
// node: an older version is refused, a newer one taken.
func TestLearnOverTheWireNeverOverwritesNewer(t *testing.T) {
	c := startCluster(t, "a", "b")
	a, b := c.node("a"), c.node("b")
	key := userKey(7)
	if _, _, err := b.store.Accept(key, persistence.Ballot{Round: 5, Node: "b"}, 2,
		[]byte("newer")); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node := c.ringNodes("b")[0]

	older := persistence.Version{Ballot: persistence.Ballot{Round: 5, Node: "b"}, Seq: 1}
	taken, err := a.regs.peers.learn(ctx, node, key, older, []byte("older"))
	if err != nil || taken {
		t.Fatalf("learn older = %v, %v, want not taken", taken, err)
	}
	if _, v := stored(t, b, key); v != "newer" {
		t.Fatalf("b holds %q after an older learn, want newer", v)
	}
	newest := persistence.Version{Ballot: persistence.Ballot{Round: 6, Node: "a"}, Seq: 1}
	taken, err = a.regs.peers.learn(ctx, node, key, newest, []byte("newest"))
	if err != nil || !taken {
		t.Fatalf("learn newest = %v, %v, want taken", taken, err)
	}
	if got, v := stored(t, b, key); v != "newest" || got != newest {
		t.Fatalf("b holds %q at %v, want newest at %v", v, got, newest)
	}

	// A malformed request gets a clear error back, and changes nothing.
	_, err = a.regs.peers.learn(ctx, node, key, persistence.Version{}, []byte("x"))
	if err == nil {
		t.Fatal("learn with a zero ballot succeeded")
	}
	c.m.setDead("b", true)
	_, err = a.regs.peers.learn(ctx, node, key, newest, []byte("x"))
	if !errors.Is(err, ErrNodeDown) {
		t.Fatalf("learn on a dead node error = %v, want ErrNodeDown", err)
	}
}

// TestSoftStateReachesReplicas: PutSoft on one node shows up on the other
// replicas of the key.
func TestSoftStateReachesReplicas(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	a := c.node("a")
	key := persistence.UserSoftKey("org#app", "u1")
	for i := range 10 {
		if err := a.regs.PutSoft(key, fmt.Appendf(nil, "badge %d", i)); err != nil {
			t.Fatalf("PutSoft: %v", err)
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		n := c.node(name)
		waitFor(t, name+" to hold the latest soft state", func() bool {
			v, err := n.store.GetSoft(key)
			return err == nil && string(v) == "badge 9"
		})
	}
	if err := a.regs.PutSoft("", []byte("x")); err == nil {
		t.Fatal("PutSoft with an empty key succeeded")
	}
}
