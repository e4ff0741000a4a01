package chaos

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// A fourth node joins three under load and receives its share of the
// registers; then an operator removes one of the first three, which is
// stopped. Nothing acknowledged is lost, on the cluster or on disk.
func TestJoinAndRemove(t *testing.T) {
	s := startSim(t)
	c := newCluster(t, s)
	for i := range 3 {
		c.add(fmt.Sprintf("node-%d", i+1))
	}
	c.launchAll()
	first := slices.Clone(c.nodes)
	c.waitSettled(first, 2*time.Minute)

	b := startBench(t, c, first, load{users: 200, duration: 20 * time.Second, rate: 60,
		pushRate: 20, workers: 8, pushers: 4})
	waitFor(t, "heraldbench setup", 2*time.Minute, func() bool {
		if b.exited() {
			t.Fatalf("heraldbench exited during setup:\n%s", tail(b.output(), 40))
		}
		return strings.Contains(b.output(), "stable devices bound")
	})

	joined := c.add("node-4")
	c.launch(joined)
	c.waitSettled(c.nodes, 3*time.Minute)
	t.Logf("node-4 joined; the ring of four is stable")

	gone := c.nodes[1]
	removeNode(t, c.nodes[0], gone.name)
	if !gone.current().stop(30 * time.Second) {
		t.Errorf("%s did not exit cleanly after SIGTERM", gone.name)
	}
	c.nodes = slices.DeleteFunc(c.nodes, func(n *hnode) bool { return n == gone })
	c.waitSettled(c.nodes, 3*time.Minute)
	t.Logf("%s removed; the ring of three is stable", gone.name)

	sum := b.finish(t)
	v := b.verify(t, c, c.nodes)
	t.Logf("duplicates: %d (msg, token) pairs received more than once", v.Duplicates)
	if sum.MutationsAcked == 0 || v.Pushed == 0 {
		t.Errorf("the load acknowledged %d mutations and %d pushes; want some of each",
			sum.MutationsAcked, v.Pushed)
	}

	c.stopAll()
	j, err := ReadFile(b.journal)
	if err != nil {
		t.Fatal(err)
	}
	rep := checkDisk(t, j, c.nodes)
	t.Logf("on disk: %d users checked; records present per node %v of %v", rep.keys,
		rep.present, rep.replica)
	for _, p := range rep.problems {
		t.Errorf("not on a majority of replicas: %s", p)
	}
	if rep.replica[joined.name] == 0 || rep.present[joined.name] != rep.replica[joined.name] {
		t.Errorf("%s holds %d of the %d user records it replicates", joined.name,
			rep.present[joined.name], rep.replica[joined.name])
	}
}
