package dockertest

import (
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// One node is cut off the data network. With a ring of three every
// register lives on all three nodes and needs two of them, so the two
// connected nodes keep acknowledging writes for every user while the cut
// node must refuse each write it is given with 503 and acknowledge none.
// Once reconnected the cut node rejoins (exiting and being restarted by
// Docker if the others declared it dead), and every node answers the
// same for every user, acknowledged writes included.
func TestDockerPartition(t *testing.T) {
	began := time.Now()
	c := startCluster(t, 3)
	c.api.setUpApp(t, c.nodes[0])
	majority, cut := c.nodes[:2], c.nodes[2]
	acked := map[string]map[string]string{}
	var users []string
	record := func(b binding) {
		if acked[b.user] == nil {
			acked[b.user] = map[string]string{}
			users = append(users, b.user)
		}
		acked[b.user][b.device] = b.token
	}

	// Before the cut: users bound through every node, some of them thus
	// owned by the node about to be cut.
	for i := range 30 {
		b := newBinding(fmt.Sprintf("part-%d", i), "d1")
		c.mustBind(c.nodes[i%3], b, 30*time.Second)
		record(b)
	}

	t0 := time.Now()
	c.disconnect(cut)
	for _, m := range majority {
		waitFor(t, m.name+" declares "+cut.name+" dead", 30*time.Second, func() bool {
			st, err := c.api.cluster(m)
			return err == nil && st.state(cut.name) == "dead"
		})
	}
	// The strongest case for the cut node is when it believes it is
	// alone: it then places every grain on itself.
	waitFor(t, cut.name+" sees both others down", 60*time.Second, func() bool {
		st, err := c.api.cluster(cut)
		return err == nil && st.state(majority[0].name) != "alive" &&
			st.state(majority[1].name) != "alive"
	})
	t.Logf("cut %s: both sides see the other down after %v", cut.name,
		time.Since(t0).Round(time.Millisecond))

	// The majority writes new users and second devices of old ones.
	for i := range 20 {
		b := newBinding(fmt.Sprintf("major-%d", i), "d1")
		if i%2 == 1 {
			b = newBinding(fmt.Sprintf("part-%d", i), "d2")
		}
		c.mustBind(majority[i%2], b, 45*time.Second)
		record(b)
	}

	// The cut node is given new users and third devices of old ones; it
	// must acknowledge none of them.
	var attempted []binding
	for i := range 20 {
		b := newBinding(fmt.Sprintf("minor-%d", i), "d1")
		if i%2 == 1 {
			b = newBinding(fmt.Sprintf("part-%d", i), "d3")
		}
		attempted = append(attempted, b)
	}
	c.mustRefuse(cut, attempted)
	for _, b := range attempted {
		if acked[b.user] == nil {
			users = append(users, b.user) // read back below: must not diverge
		}
	}

	// Heal the cut and wait until the cluster settled with all three.
	restartsBefore := c.restarts(cut)
	t1 := time.Now()
	c.reconnect(cut)
	c.waitSettled(5*time.Second, 120*time.Second)
	t.Logf("reconnected %s: settled after %v, restarted by Docker %d time(s)", cut.name,
		time.Since(t1).Round(time.Millisecond), c.restarts(cut)-restartsBefore)

	visible := c.checkConverged(users, acked, attempted)
	t.Logf("%d users read through all 3 nodes agree; %d of %d refused writes became "+
		"visible later (allowed: never acknowledged); total %v", len(users), visible,
		len(attempted), time.Since(began).Round(time.Millisecond))
}

func newBinding(user, device string) binding {
	return binding{user: user, device: device, token: deviceToken(user + "/" + device)}
}

// mustBind binds b through m, retrying while the cluster answers
// anything but 200 (a grain moving off a node that went down), until
// within passes.
func (c *testCluster) mustBind(m *member, b binding, within time.Duration) {
	c.t.Helper()
	var code int
	var err error
	waitFor(c.t, "bind "+b.user+"/"+b.device+" through "+m.name, within, func() bool {
		code, err = c.api.bind(m, b)
		return err == nil && code == http.StatusOK
	}, func() string { return fmt.Sprintf("; last: status %d, %v", code, err) })
}

// mustRefuse sends every binding through m once, concurrently, and fails
// the test for each that is acknowledged or refused with anything but
// 503. The client waits long enough that a hang shows as a hang.
func (c *testCluster) mustRefuse(m *member, bs []binding) {
	c.t.Helper()
	patient := *c.api
	patient.http = &http.Client{Timeout: 60 * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	var wrong []string
	t0 := time.Now()
	for _, b := range bs {
		wg.Go(func() {
			code, err := patient.bind(m, b)
			key := fmt.Sprint(code)
			if err != nil {
				key = "no answer"
			}
			mu.Lock()
			defer mu.Unlock()
			codes[key]++
			if err != nil || code != http.StatusServiceUnavailable {
				wrong = append(wrong, fmt.Sprintf("%s/%s: status %d, %v", b.user, b.device,
					code, err))
			}
		})
	}
	wg.Wait()
	c.t.Logf("writes through the cut %s answered %v within %v", m.name, codes,
		time.Since(t0).Round(time.Millisecond))
	sort.Strings(wrong)
	for _, w := range wrong {
		c.t.Errorf("write through the cut %s was not refused with 503: %s", m.name, w)
	}
}

// checkConverged reads every user through every node. All nodes must
// answer the same, and every acknowledged binding must be there. It
// returns how many refused writes are visible.
func (c *testCluster) checkConverged(users []string, acked map[string]map[string]string,
	refused []binding) (visible int) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	seen := map[string]map[string]string{}
	for _, user := range users {
		var answers []string
		for _, m := range c.nodes {
			got := c.readUntil(m, user, deadline)
			answers = append(answers, m.name+"="+fmt.Sprint(got))
			if seen[user] == nil {
				seen[user] = got
			} else if !maps.Equal(seen[user], got) {
				c.t.Errorf("%s diverges: %s", user, strings.Join(answers, " "))
			}
			for dev, tok := range acked[user] {
				if got[dev] != tok {
					c.t.Errorf("%s through %s: device %s has %q, acknowledged %q", user,
						m.name, dev, got[dev], tok)
				}
			}
		}
	}
	for _, b := range refused {
		if seen[b.user][b.device] == b.token {
			visible++
		}
	}
	return visible
}

// readUntil reads user's bindings through m, retrying until a 200 or the
// deadline.
func (c *testCluster) readUntil(m *member, user string, deadline time.Time) map[string]string {
	c.t.Helper()
	for {
		got, code, err := c.api.bindings(m, user)
		if err == nil && code == http.StatusOK {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("read %s through %s: status %d, %v", user, m.name, code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
