package replication

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-im/herald/ring"
)

// keyMovingTo returns a key that node joins as a replica when the ring
// grows from old to grown.
func keyMovingTo(t *testing.T, old, grown []ring.Node, node string) string {
	t.Helper()
	for i := range 10000 {
		key := userKey(i)
		now := ring.Rendezvous(grown, key, ring.ReplicationFactor)
		was := ring.Rendezvous(old, key, ring.ReplicationFactor)
		if contains(now, node) && !contains(was, node) {
			return key
		}
	}
	t.Fatalf("no key moves to %s", node)
	return ""
}

// TestJointQuorumDuringJoin grows the ring from three nodes to four with
// the previous set kept: a write needs a majority of both replica sets.
func TestJointQuorumDuringJoin(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	c.add(t, "d")
	old := c.ringNodes("a", "b", "c")
	grown := c.ringNodes("a", "b", "c", "d")
	c.m.setView(ring.View{Epoch: 2, Nodes: grown, Previous: old})
	key := keyMovingTo(t, old, grown, "d")

	current, previous := c.node("d").regs.peers.ring.View().Replicas(key)
	var shared, dropped string // an old replica kept, and the one d replaces
	for _, n := range previous {
		if contains(current, n.Name) && shared == "" {
			shared = n.Name
		}
		if !contains(current, n.Name) {
			dropped = n.Name
		}
	}
	var other string // the second old replica that stays
	for _, n := range previous {
		if n.Name != shared && n.Name != dropped {
			other = n.Name
		}
	}
	t.Logf("current %v, previous %v", current, previous)

	d := c.node("d")
	l, _ := activate(t, d, key)
	tests := []struct {
		dead []string
		ok   bool
		why  string
	}{
		{nil, true, "all up"},
		{[]string{shared}, true, "one old replica down: both majorities remain"},
		{[]string{dropped}, true, "the dropped replica down: both majorities remain"},
		{[]string{shared, other}, false, "two old replicas down"},
		{[]string{other, dropped}, false,
			"previous set lost its majority, current kept it"},
		{[]string{"d", shared}, false, "current set lost its majority, previous kept it"},
	}
	for i, tt := range tests {
		for _, name := range tt.dead {
			c.m.setDead(name, true)
		}
		value := fmt.Sprintf("w%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var err error
		if contains(c.ringNodes(tt.dead...), "d") {
			// d is down: another node cannot even activate the key.
			_, _, err = c.node(other).regs.Activate(ctx, key)
		} else {
			err = l.Write(ctx, []byte(value))
		}
		late := ctx.Err()
		cancel()
		for _, name := range tt.dead {
			c.m.setDead(name, false)
		}
		if !tt.ok {
			if !errors.Is(err, ErrNoQuorum) || late != nil {
				t.Fatalf("%s: error = %v, want ErrNoQuorum before the deadline", tt.why, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Write: %v", tt.why, err)
		}
		// The acknowledged write is on a majority of each set.
		for _, set := range [][]ring.Node{current, previous} {
			have := 0
			for _, n := range set {
				if _, v := stored(t, c.node(n.Name), key); v == value {
					have++
				}
			}
			if have < majority(len(set)) {
				t.Fatalf("%s: %q on %d of %v, want a majority", tt.why, value, have, set)
			}
		}
	}

	// Once the previous set is dropped, a majority of the current one is
	// enough: the dropped replica and one more old one may be down.
	c.m.setView(ring.View{Epoch: 2, Nodes: grown})
	c.m.setDead(dropped, true)
	c.m.setDead(other, true)
	write(t, d, l, "stable")
}

// TestMigrateCopiesToNewReplicas grows a ring of three by one node and
// has every old node run Migrate: the new node then holds every register
// it now replicates, and a second run copies nothing.
func TestMigrateCopiesToNewReplicas(t *testing.T) {
	c := startCluster(t, "a", "b", "c")
	a := c.node("a")
	const keys = 60
	for i := range keys {
		l, _ := activate(t, a, userKey(i))
		write(t, a, l, fmt.Sprintf("value %d", i))
	}
	for i := range keys {
		for _, name := range []string{"b", "c"} {
			waitStored(t, c.node(name), userKey(i), fmt.Sprintf("value %d", i))
		}
	}

	c.add(t, "d")
	from := ring.View{Epoch: 1, Nodes: c.ringNodes("a", "b", "c")}
	to := ring.View{Epoch: 2, Nodes: c.ringNodes("a", "b", "c", "d"), Previous: from.Nodes}
	c.m.setView(to)
	copied := 0
	for _, name := range []string{"a", "b", "c"} {
		stats, err := c.node(name).regs.migrate(context.Background(), from, to)
		if err != nil {
			t.Fatalf("%s: Migrate: %v", name, err)
		}
		if stats.Scanned != keys {
			t.Fatalf("%s: Migrate scanned %d, want %d", name, stats.Scanned, keys)
		}
		copied += stats.Copied
	}

	moved := 0
	for i := range keys {
		key := userKey(i)
		now := ring.Rendezvous(to.Nodes, key, ring.ReplicationFactor)
		_, v := stored(t, c.node("d"), key)
		switch {
		case contains(now, "d") && v != fmt.Sprintf("value %d", i):
			t.Fatalf("d replicates %s but holds %q", key, v)
		case !contains(now, "d") && v != "":
			t.Fatalf("d does not replicate %s but holds %q", key, v)
		}
		if contains(now, "d") {
			moved++
		}
	}
	if moved == 0 || copied != moved {
		t.Fatalf("%d keys moved to d, %d copies taken; want equal and non-zero", moved, copied)
	}

	stats, err := a.regs.migrate(context.Background(), from, to)
	if err != nil || stats.Copied != 0 {
		t.Fatalf("second Migrate = %+v, %v, want nothing copied", stats, err)
	}

	// A copy to a dead new replica is reported, not skipped silently.
	c.m.setDead("d", true)
	if err := a.regs.Migrate(context.Background(), from, to); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Migrate with d dead error = %v, want ErrIncomplete", err)
	}
}

// The ring's manager is what a node passes as the RingSource, and it runs
// Registers.Migrate on each ring change.
var (
	_ RingSource       = (*ring.Manager)(nil)
	_ ring.MigrateFunc = (&Registers{}).Migrate
)
