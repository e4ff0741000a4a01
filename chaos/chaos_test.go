package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herald-im/herald/client"
	"github.com/herald-im/herald/messages"
)

// chaosRun says how one chaos test runs.
type chaosRun struct {
	nodes  int
	load   load
	pauses bool // also SIGSTOP a node for 3–5 s (false suspicion)
}

// TestChaosShort: three nodes, about a minute, a node killed with
// SIGKILL every few seconds and restarted on its data directory.
func TestChaosShort(t *testing.T) {
	runChaos(t, chaosRun{nodes: 3, load: load{users: 300, duration: 25 * time.Second,
		rate: 80, pushRate: 30, workers: 12, pushers: 8}})
}

// TestChaosLong: five nodes, ten minutes, kills and pauses. Run with
//
//	HERALD_CHAOS_LONG=1 go test -run TestChaosLong -timeout 30m ./chaos/
func TestChaosLong(t *testing.T) {
	if os.Getenv("HERALD_CHAOS_LONG") == "" {
		t.Skip("set HERALD_CHAOS_LONG=1 to run the ten-minute chaos test")
	}
	runChaos(t, chaosRun{nodes: 5, pauses: true, load: load{users: 3000,
		duration: 10 * time.Minute, rate: 100, pushRate: 40, workers: 16, pushers: 8}})
}

func runChaos(t *testing.T, cr chaosRun) {
	s := startSim(t)
	c := newCluster(t, s)
	for i := range cr.nodes {
		c.add(fmt.Sprintf("node-%d", i+1))
	}
	c.launchAll()
	c.waitSettled(c.nodes, 2*time.Minute)

	b := startBench(t, c, c.nodes, cr.load)
	waitFor(t, "heraldbench setup", 2*time.Minute, func() bool {
		if b.exited() {
			t.Fatalf("heraldbench exited during setup:\n%s", tail(b.output(), 40))
		}
		return strings.Contains(b.output(), "stable devices bound")
	})

	probe := newProber(t, c, cr.load.users)
	loadEnd := time.Now().Add(cr.load.duration)
	for k := 1; time.Now().Before(loadEnd) && !b.exited(); k++ {
		victim := c.nodes[rand.N(len(c.nodes))]
		if cr.pauses && k%3 == 0 {
			c.pause(victim)
		} else {
			c.killAndRestart(victim, k, probe)
		}
		c.waitSettled(c.nodes, 2*time.Minute)
	}

	sum := b.finish(t)
	c.waitSettled(c.nodes, 2*time.Minute)
	v := b.verify(t, c, c.nodes)
	t.Logf("duplicates: %d (msg, token) pairs received more than once, %d extra copies; "+
		"%d resubmissions answered duplicate, %d of them reached vendorsim", v.Duplicates,
		v.ExtraCopies, v.DupAnswers, v.DupDelivered)
	if sum.MutationsAcked == 0 || v.Pushed == 0 {
		t.Errorf("the load acknowledged %d mutations and %d pushes; want some of each",
			sum.MutationsAcked, v.Pushed)
	}
	probe.report()

	c.stopAll()
	j, err := ReadFile(b.journal)
	if err != nil {
		t.Fatal(err)
	}
	rep := checkDisk(t, j, c.nodes)
	t.Logf("on disk: %d users checked, %d short of a majority; held per node %v",
		rep.keys, rep.short, rep.held)
	for _, p := range rep.problems {
		t.Errorf("not on a majority of replicas: %s", p)
	}
}

// launchAll starts the nodes one after the other, each joining the ones
// already running.
func (c *cluster) launchAll() {
	for _, n := range c.nodes {
		c.launch(n)
	}
}

// heal restarts any node whose process ended by itself (a node the
// cluster declared dead exits so it can restart cleanly).
func (c *cluster) heal() {
	for _, n := range c.nodes {
		if p := n.current(); p != nil && p.exited() {
			c.t.Logf("%s had exited (code %d); restarting it", n.name,
				p.cmd.ProcessState.ExitCode())
			c.launch(n)
		}
	}
}

// waitSettled waits until want form one stable ring, restarting nodes
// that exit meanwhile.
func (c *cluster) waitSettled(want []*hnode, within time.Duration) {
	c.t.Helper()
	waitFor(c.t, "a settled ring", within, func() bool {
		c.heal()
		return settled(want)
	})
}

// killAndRestart kills victim with SIGKILL, measures how long pushes to
// users whose grains it hosted take to succeed again, and restarts it on
// its data directory.
func (c *cluster) killAndRestart(victim *hnode, k int, pr *prober) {
	users := pr.ownedBy(c.nodes, victim, 2)
	killed := time.Now()
	victim.current().kill()
	c.t.Logf("chaos %d: killed %s (%d probe users)", k, victim.name, len(users))
	pr.measure(k, killed, users)
	c.launch(victim)
}

// pause stops victim with SIGSTOP for 3–5 s, then continues it.
func (c *cluster) pause(victim *hnode) {
	p := victim.current()
	d := 3*time.Second + rand.N(2*time.Second)
	c.t.Logf("chaos: pausing %s for %v", victim.name, d)
	p.signal(syscall.SIGSTOP)
	time.Sleep(d) // the pause itself is the fault injected, not a wait
	p.signal(syscall.SIGCONT)
}

// prober measures failover: from a kill to the first successful push to
// a user whose grain was placed on the killed node.
type prober struct {
	t     *testing.T
	users int
	c     *client.Client

	mu    sync.Mutex
	times []time.Duration
}

func newProber(t *testing.T, c *cluster, users int) *prober {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var seeds []string
	for _, n := range c.nodes {
		seeds = append(seeds, n.gossip)
	}
	cl, err := client.New(ctx, client.Config{Seeds: seeds, Timeout: 2 * time.Second,
		Retries: -1})
	if err != nil {
		t.Fatalf("probe client: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return &prober{t: t, users: users, c: cl}
}

// ownedBy picks up to n users whose grains the rendezvous placement over
// all nodes puts on victim.
func (pr *prober) ownedBy(all []*hnode, victim *hnode, n int) []int {
	var out []int
	for _, i := range rand.Perm(pr.users) {
		if owner(all, UserName(i)) == victim {
			out = append(out, i)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// measure pushes to each user until one push succeeds (at most 40 s).
func (pr *prober) measure(k int, killed time.Time, users []int) {
	var wg sync.WaitGroup
	for _, i := range users {
		wg.Go(func() {
			d, ok := pr.firstPush(k, killed, i)
			if !ok {
				pr.t.Errorf("chaos %d: no successful push to %s within 40s of the kill", k,
					UserName(i))
				return
			}
			pr.mu.Lock()
			pr.times = append(pr.times, d)
			pr.mu.Unlock()
		})
	}
	wg.Wait()
}

func (pr *prober) firstPush(k int, killed time.Time, i int) (time.Duration, bool) {
	ctx, cancel := context.WithDeadline(context.Background(), killed.Add(40*time.Second))
	defer cancel()
	for a := 0; ctx.Err() == nil; a++ {
		attempt, stop := context.WithTimeout(ctx, 3*time.Second)
		res, err := pr.c.Push(attempt, &messages.PushMessage{AppKey: appKey,
			MsgId: fmt.Sprintf("probe-%d-%d-%d", k, i, a), From: "probe", ChatType: "chat",
			To: []string{UserName(i)}, Body: &messages.Body{Type: "txt", Text: "hi"}})
		stop()
		if err == nil && res.GetPushed() == 1 {
			return time.Since(killed), true
		}
		time.Sleep(20 * time.Millisecond) // pace resubmissions; not a wait for a condition
	}
	return 0, false
}

// report logs the failover times' p50 and max.
func (pr *prober) report() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if len(pr.times) == 0 {
		pr.t.Errorf("no failover was measured")
		return
	}
	ts := slices.Clone(pr.times)
	slices.Sort(ts)
	pr.t.Logf("failover (kill → first successful push to a user owned by the killed node): "+
		"n=%d p50=%v max=%v", len(ts), ts[len(ts)/2].Round(time.Millisecond),
		ts[len(ts)-1].Round(time.Millisecond))
}
