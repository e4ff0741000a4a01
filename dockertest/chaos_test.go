package dockertest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// chaosRounds is how many kill-and-restart plus pause rounds run; each
// takes some 15-25 s on a small machine.
const chaosRounds = 2

// While a load writes bindings and pushes messages, a chaos loop kills a
// node's container and restarts it on its volume, then freezes another
// for 3-5 s (long enough to be suspected, maybe declared dead). At most
// one node is faulty at a time. At the end every acknowledged binding
// reads back and every acknowledged push reached vendorsim.
func TestDockerChaos(t *testing.T) {
	began := time.Now()
	c := startCluster(t, 3)
	c.api.setUpApp(t, c.nodes[0])

	l := newLoad(t, c.api, c.nodes)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx, 8, 1, 4000)
	}()
	defer func() {
		stop()
		<-done
	}()

	for round := range chaosRounds {
		c.killRound(l, c.nodes[round%len(c.nodes)])
		c.pauseRound(l, c.nodes[(round+1)%len(c.nodes)])
	}
	stop()
	<-done
	t.Log(l.summary())

	// The cluster settles, then everything acknowledged must be there.
	c.waitAgreed(c.nodes, c.nodes, 90*time.Second)
	l.mu.Lock()
	bound, pushed := len(l.acked), len(l.pushed)
	l.mu.Unlock()
	if bound < 100 || pushed < 10 {
		t.Fatalf("only %d users bound and %d pushes acknowledged: the load did not "+
			"run long enough to prove anything", bound, pushed)
	}
	l.checkBindings(t, 60*time.Second)
	dups := l.checkPushes(t)
	t.Logf("verified %d users and %d pushes; %d duplicate deliveries; total %v", bound,
		pushed, dups, time.Since(began).Round(time.Millisecond))
}

// killRound kills victim's container, waits until a survivor declares
// it dead, restarts it on its volume and waits until all agree again.
func (c *testCluster) killRound(l *load, victim *member) {
	c.t.Helper()
	l.avoid.Store(victim)
	defer l.avoid.Store(nil)
	survivor := c.other(victim)

	t0 := time.Now()
	c.kill(victim)
	waitFor(c.t, survivor.name+" declares "+victim.name+" dead", 30*time.Second,
		func() bool {
			st, err := c.api.cluster(survivor)
			return err == nil && st.state(victim.name) == "dead"
		})
	detected := time.Since(t0)

	c.start(victim)
	waitFor(c.t, victim.name+" ready after restart", 60*time.Second, func() bool {
		return c.api.ready(victim)
	})
	c.waitAgreed(c.nodes, c.nodes, 60*time.Second)
	c.t.Logf("kill %s: declared dead after %v, rejoined %v after the kill",
		victim.name, detected.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
}

// pauseRound freezes frozen's container for 3-5 s. The others suspect it
// and may declare it dead; a node declared dead exits when it wakes and
// Docker restarts it. Either way all nodes must agree again.
func (c *testCluster) pauseRound(l *load, frozen *member) {
	c.t.Helper()
	l.avoid.Store(frozen)
	defer l.avoid.Store(nil)
	restartsBefore := c.restarts(frozen)

	hold := 3*time.Second + rand.N(2*time.Second)
	t0 := time.Now()
	c.pause(frozen)
	// The hold is the fault itself, not a wait for a condition.
	<-time.After(hold)
	c.unpause(frozen)
	// A node declared dead exits a moment after it wakes, so a first
	// agreement may not last: wait until one holds for a while.
	c.waitSettled(5*time.Second, 90*time.Second)
	c.t.Logf("pause %s for %v: agreed again %v after the pause, restarted by Docker %d "+
		"time(s)", frozen.name, hold.Round(time.Millisecond),
		time.Since(t0).Round(time.Millisecond), c.restarts(frozen)-restartsBefore)
}

// other returns a node other than m.
func (c *testCluster) other(m *member) *member {
	for _, o := range c.nodes {
		if o != m {
			return o
		}
	}
	c.t.Fatal("a cluster of one has no other node")
	return nil
}
