package replication

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/persistence"
)

func TestBallotsIncrease(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	key := userKey(1)

	var last persistence.Ballot
	for i, name := range []string{"a", "b", "a", "c", "c"} {
		l, _ := activate(t, c.node(name), key)
		b := l.(*lease).ballot
		if !last.Less(b) || b.Node != name {
			t.Fatalf("activation %d on %s: ballot %v, previous %v; want higher, node %s",
				i, name, b, last, name)
		}
		last = b
		write(t, c.node(name), l, name)
	}
	// The last replica's answer may still be on its way.
	for name, n := range c.nodes {
		waitFor(t, name+" to have seen the last ballot", func() bool {
			seen, err := n.store.Seen(key)
			return err == nil && seen == last
		})
	}
}

// TestActivationFencesOlderLease activates a key on a, then on b: b reads
// a's last acknowledged write and a can no longer write.
func TestActivationFencesOlderLease(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	a, b := c.node("a"), c.node("b")
	key := userKey(2)

	old, value := activate(t, a, key)
	if value != nil {
		t.Fatalf("first Activate value = %q, want nil", value)
	}
	write(t, a, old, "v1")
	write(t, a, old, "v2")

	newer, value := activate(t, b, key)
	if string(value) != "v2" {
		t.Fatalf("Activate on b value = %q, want v2", value)
	}
	ctx := context.Background()
	if err := old.Write(ctx, []byte("stale")); !errors.Is(err, persistence.ErrFenced) {
		t.Fatalf("Write on a's lease error = %v, want ErrFenced", err)
	}
	write(t, b, newer, "v3")
	if err := old.Write(ctx, []byte("stale again")); !errors.Is(err, persistence.ErrFenced) {
		t.Fatalf("second Write on a's lease error = %v, want ErrFenced", err)
	}
	_, value = activate(t, c.node("c"), key)
	if string(value) != "v3" {
		t.Fatalf("Activate on c value = %q, want v3", value)
	}
}

// TestAckedWriteSurvivesReplicaOutage writes with one replica down, brings
// it back, takes another one down and activates on the returned node: the
// acknowledged write must be what it reads.
func TestAckedWriteSurvivesReplicaOutage(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	a, b, cn := c.node("a"), c.node("b"), c.node("c")
	key := userKey(3)

	l, _ := activate(t, a, key)
	cn.stop()
	write(t, a, l, "acked while c was down")
	if _, v := stored(t, b, key); v != "acked while c was down" {
		t.Fatalf("b holds %q after the write", v)
	}

	cn.start()
	if _, v := stored(t, cn, key); v != "" {
		t.Fatalf("c holds %q before any repair, want nothing", v)
	}
	a.stop()
	_, value := activate(t, cn, key)
	if string(value) != "acked while c was down" {
		t.Fatalf("Activate on c after the outage = %q, want the acknowledged write", value)
	}
	// b and c, a majority, now refuse a's ballot.
	for _, n := range []*testNode{b, cn} {
		if seen, _ := n.store.Seen(key); !l.(*lease).ballot.Less(seen) {
			t.Fatalf("%s has seen %v, want above a's ballot %v", n.name, seen,
				l.(*lease).ballot)
		}
	}
}

// TestActivationRepairsLaggingReplica: a replica that missed writes holds
// the adopted value after another node's activation wrote it back.
func TestActivationRepairsLaggingReplica(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	a, b, cn := c.node("a"), c.node("b"), c.node("c")
	key := userKey(4)

	l, _ := activate(t, a, key)
	cn.stop() // really down, so no late request reaches it
	write(t, a, l, "v1")
	write(t, a, l, "v2")
	cn.start()
	if _, v := stored(t, cn, key); v != "" {
		t.Fatalf("c holds %q, want nothing before the repair", v)
	}

	newer, value := activate(t, b, key)
	if string(value) != "v2" {
		t.Fatalf("Activate on b = %q, want v2", value)
	}
	want := persistence.Version{Ballot: newer.(*lease).ballot, Seq: 1}
	waitFor(t, "c to hold the written-back value", func() bool {
		v, value := stored(t, cn, key)
		return v == want && value == "v2"
	})
}

func TestRegistersRejectBadInput(t *testing.T) {
	c := startCluster(t, "a")
	a := c.node("a")
	ctx := context.Background()

	if _, _, err := a.regs.Activate(ctx, ""); err == nil {
		t.Fatal("Activate with an empty key succeeded")
	}
	long := string(make([]byte, persistence.MaxKeyLen+1))
	if _, _, err := a.regs.Activate(ctx, long); err == nil {
		t.Fatal("Activate with an oversized key succeeded")
	}
	l, _ := activate(t, a, userKey(5))
	if err := l.Write(ctx, make([]byte, persistence.MaxValueLen+1)); err == nil {
		t.Fatal("Write of an oversized value succeeded")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Write(canceled, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with canceled ctx error = %v, want context.Canceled", err)
	}
	// A ring of one: the local replica alone is the majority.
	write(t, a, l, "alone")
	_, value := activate(t, a, userKey(5))
	if string(value) != "alone" {
		t.Fatalf("Activate = %q, want alone", value)
	}
}

// TestWriteWithoutQuorumIsRetryable: with two of three replicas dead, a
// write fails at once with ErrNoQuorum, not ErrFenced, and the lease keeps
// working once a replica is back.
func TestWriteWithoutQuorumIsRetryable(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	a := c.node("a")
	key := userKey(6)
	l, _ := activate(t, a, key)

	c.m.setDead("b", true)
	c.m.setDead("c", true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := l.Write(ctx, []byte("lost"))
	if !errors.Is(err, ErrNoQuorum) || errors.Is(err, persistence.ErrFenced) {
		t.Fatalf("Write without quorum error = %v, want ErrNoQuorum", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Write waited for its deadline although the replicas were known dead")
	}
	c.m.setDead("b", false)
	write(t, a, l, "back")
	_, value := activate(t, c.node("b"), key)
	if string(value) != "back" {
		t.Fatalf("Activate on b = %q, want back", value)
	}
}

// TestConcurrentActivationsAcrossNodes races activations of one key on
// every node. Whatever the interleaving, only the lease with the highest
// ballot can write afterwards; every other one is fenced.
func TestConcurrentActivationsAcrossNodes(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	key := userKey(8)
	first, _ := activate(t, c.node("a"), key)
	write(t, c.node("a"), first, "seed")

	const perNode = 4
	type result struct {
		lease persistence.Lease
		value []byte
		err   error
	}
	var results []*result
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		for range perNode {
			r := &result{}
			results = append(results, r)
			n := c.node(name)
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				r.lease, r.value, r.err = n.regs.Activate(ctx, key)
			})
		}
	}
	wg.Wait()

	var best *lease
	for i, r := range results {
		if r.err != nil {
			if !errors.Is(r.err, persistence.ErrFenced) {
				t.Fatalf("activation %d: %v", i, r.err)
			}
			continue
		}
		if string(r.value) != "seed" {
			t.Fatalf("activation %d read %q, want seed", i, r.value)
		}
		if l := r.lease.(*lease); best == nil || best.ballot.Less(l.ballot) {
			best = l
		}
	}
	if best == nil {
		t.Fatal("every activation failed")
	}
	if err := first.Write(context.Background(), []byte("x")); !errors.Is(err,
		persistence.ErrFenced) {
		t.Fatalf("Write on the first lease error = %v, want ErrFenced", err)
	}
	for i, r := range results {
		if r.lease == nil || r.lease == persistence.Lease(best) {
			continue
		}
		err := r.lease.Write(context.Background(), []byte("x"))
		if !errors.Is(err, persistence.ErrFenced) {
			t.Fatalf("Write on lease %d (ballot %v, best %v) error = %v, want ErrFenced",
				i, r.lease.(*lease).ballot, best.ballot, err)
		}
	}
	write(t, c.node(best.ballot.Node), best, "winner")
	_, value := activate(t, c.node("b"), key)
	if string(value) != "winner" {
		t.Fatalf("Activate after the race = %q, want winner", value)
	}
}
