package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitAlive waits until every member sees all of names alive.
func waitAlive(t *testing.T, ms []*member, names ...string) {
	t.Helper()
	for _, m := range ms {
		waitFor(t, m.name+" seeing "+strings.Join(names, ","), 30*time.Second, func() bool {
			st, ok := clusterOf(m)
			if !ok {
				return false
			}
			alive := st.alive()
			for _, n := range names {
				if !alive[n] {
					return false
				}
			}
			return true
		})
	}
}

// waitState waits until m reports peer in state, and returns how long
// that took from since.
func waitState(t *testing.T, m *member, peer, state string, since time.Time) time.Duration {
	t.Helper()
	waitFor(t, m.name+" seeing "+peer+" "+state, 30*time.Second, func() bool {
		st, ok := clusterOf(m)
		return ok && st.stateOf(peer) == state
	})
	return time.Since(since)
}

// Real processes: a node stopped with SIGTERM leaves at once and exits 0;
// a killed node is declared dead by failure detection; a node frozen
// until its peers declared it dead exits with status 1 when it runs again,
// so a supervisor restarts it under a new member id.
func TestClusterLeaveKillAndDeclaredDead(t *testing.T) {
	a := startMember(t, "a")
	b := startMember(t, "b", a.gossip)
	c := startMember(t, "c", a.gossip)
	waitAlive(t, []*member{a, b, c}, "a", "b", "c")

	killed := time.Now()
	b.signal(t, syscall.SIGKILL)
	t.Logf("SIGKILL: a declared b dead after %v", waitState(t, a, "b", "dead", killed))

	left := time.Now()
	c.signal(t, syscall.SIGTERM)
	t.Logf("SIGTERM: a dropped c after %v", waitState(t, a, "c", "dead", left))
	<-c.done
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("c exited with %d after SIGTERM, want 0", code)
	}

	// Freeze e until both peers declared it dead and Proto.Actor's grace
	// for a dead member (under a second) has passed, so they blocked its
	// member id; then let it run again.
	d := startMember(t, "d", a.gossip)
	e := startMember(t, "e", a.gossip)
	waitAlive(t, []*member{a, d, e}, "a", "d", "e")
	frozen := time.Now()
	e.signal(t, syscall.SIGSTOP)
	var deadSince time.Time
	waitFor(t, "a and d holding e dead for 2 s", 30*time.Second, func() bool {
		sa, okA := clusterOf(a)
		sd, okD := clusterOf(d)
		if !okA || !okD || sa.stateOf("e") != "dead" || sd.stateOf("e") != "dead" {
			deadSince = time.Time{}
			return false
		}
		if deadSince.IsZero() {
			deadSince = time.Now()
			t.Logf("SIGSTOP: a and d declared e dead after %v", deadSince.Sub(frozen))
		}
		return time.Since(deadSince) > 2*time.Second
	})
	e.signal(t, syscall.SIGCONT)
	select {
	case <-e.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("e still runs 30 s after its peers declared it dead")
	}
	if code := e.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("e exited with %d, want 1", code)
	}
	if !strings.Contains(e.output(), "declared this node dead") {
		t.Errorf("e's output does not say why it exited:\n%s", e.output())
	}
	if a.exited() || d.exited() {
		t.Errorf("a or d exited; only e should")
	}
}
