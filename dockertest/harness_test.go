package dockertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// bootstrapToken authorizes app creation and the admin endpoints.
const bootstrapToken = "dockertest-bootstrap-token-0001"

// Ports inside every container; each container has its own address, so
// all nodes use the same ones.
const (
	httpPort   = 8080
	gossipPort = 7946
	remotePort = 8090
	simCtlPort = 9000
	simAPNs    = 8443
)

// apnsHost is the APNs host name herald containers resolve to vendorsim
// (--add-host); vendorsim's TLS leaf names it, so TLS verifies as usual.
const apnsHost = "api.sandbox.push.apple.com"

// member is one herald node running in a container.
type member struct {
	name      string // node name, n1..n3
	container string
	volume    string // named volume holding the data directory
	dataIP    string // gossip and remote bind here
	ctlIP     string // REST binds here
}

func (m *member) base() string {
	return "http://" + m.ctlIP + ":" + strconv.Itoa(httpPort)
}

// testCluster is one test's networks, vendorsim and herald containers.
type testCluster struct {
	t       *testing.T
	id      string
	label   string
	dataNet string
	ctlNet  string
	simName string
	simIP   string
	nodes   []*member
	api     *apiClient

	mu         sync.Mutex
	containers []string
}

// startCluster creates the networks, vendorsim and n herald containers,
// and waits until every node agrees on n alive members and a ring of n.
func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	skipWithoutDocker(t)
	c := &testCluster{t: t, id: randomID()}
	c.label = "herald-test=" + c.id
	t.Cleanup(c.cleanup)

	dataPrefix, ctlPrefix := c.createNetworks()
	c.startSim(dataPrefix + "10")
	var seeds []string
	for i := 1; i <= min(n, 2); i++ {
		seeds = append(seeds, fmt.Sprintf("%s%d:%d", dataPrefix, 10+i, gossipPort))
	}
	for i := 1; i <= n; i++ {
		m := &member{
			name:      "n" + strconv.Itoa(i),
			container: fmt.Sprintf("herald-test-%s-n%d", c.id, i),
			volume:    fmt.Sprintf("herald-test-%s-n%d", c.id, i),
			dataIP:    dataPrefix + strconv.Itoa(10+i),
			ctlIP:     ctlPrefix + strconv.Itoa(10+i),
		}
		c.startNode(m, seeds)
		c.nodes = append(c.nodes, m)
	}

	c.api = newAPIClient(c.simIP)
	waitFor(t, "vendorsim control API from the host", 30*time.Second, func() bool {
		return c.api.simReachable()
	}, func() string { return "; the host cannot reach addresses on " + c.dataNet })
	c.waitAgreed(c.nodes, c.nodes, 90*time.Second)
	return c
}

// createNetworks makes the data and management networks on random /24
// subnets, retrying when a subnet is taken. It returns the "a.b.c."
// prefix of each.
func (c *testCluster) createNetworks() (data, ctl string) {
	c.dataNet = "herald-test-" + c.id
	c.ctlNet = "herald-test-" + c.id + "-mgmt"
	for range 8 {
		a, b := 100+rand.IntN(100), rand.IntN(254)
		data = fmt.Sprintf("10.%d.%d.", a, b)
		ctl = fmt.Sprintf("10.%d.%d.", a, b+1)
		err := createNetwork(c.dataNet, data+"0/24", c.label)
		if errors.Is(err, errOverlap) {
			continue
		}
		if err != nil {
			c.t.Fatal(err)
		}
		err = createNetwork(c.ctlNet, ctl+"0/24", c.label)
		if err == nil {
			return data, ctl
		}
		dockerT(c.t, "network", "rm", c.dataNet)
		if !errors.Is(err, errOverlap) {
			c.t.Fatal(err)
		}
	}
	c.t.Fatal("no free subnet for the test networks after 8 tries")
	return "", ""
}

// startSim runs vendorsim on the data network at ip, APNs on a fixed
// port, with the CA baked into the image.
func (c *testCluster) startSim(ip string) {
	c.simIP = ip
	c.simName = "herald-test-" + c.id + "-sim"
	c.track(c.simName)
	dockerT(c.t, "create", "--name", c.simName, "--label", c.label,
		"--network", c.dataNet, "--ip", ip, image,
		"/vendorsim", "-config", imageCredsFile, "-ca-dir", imageCADir,
		"-listen-host", "0.0.0.0", "-control", "0.0.0.0:"+strconv.Itoa(simCtlPort),
		"-apns-port", strconv.Itoa(simAPNs))
	dockerT(c.t, "start", c.simName)
}

// startNode creates m's container on the management network, attaches it
// to the data network (docker create takes one network), and starts it.
// A node that exits with an error (the cluster declared it dead) is
// restarted by Docker; a killed one is not (docker kill is a manual stop).
func (c *testCluster) startNode(m *member, seeds []string) {
	c.track(m.container)
	dockerT(c.t, "create", "--name", m.container, "--label", c.label,
		"--network", c.ctlNet, "--ip", m.ctlIP,
		"--restart", "on-failure:20",
		"-e", "HERALD_BOOTSTRAP_TOKEN="+bootstrapToken,
		"-e", "SSL_CERT_FILE="+imageCAFile,
		"--add-host", apnsHost+":"+c.simIP,
		"-v", m.volume+":/data",
		image, "/herald",
		"--data-dir", "/data", "--node-name", m.name,
		"--http-addr", m.ctlIP+":"+strconv.Itoa(httpPort),
		"--gossip-addr", m.dataIP+":"+strconv.Itoa(gossipPort),
		"--remote-addr", m.dataIP+":"+strconv.Itoa(remotePort),
		"--seeds", strings.Join(seeds, ","))
	dockerT(c.t, "network", "connect", "--ip", m.dataIP, c.dataNet, m.container)
	dockerT(c.t, "start", m.container)
}

func (c *testCluster) track(container string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.containers = append(c.containers, container)
}

// cleanup removes every container, volume and network of the test,
// printing the nodes' last logs when it failed. It is bounded: each
// docker call has its own deadline.
func (c *testCluster) cleanup() {
	c.mu.Lock()
	containers := slices.Clone(c.containers)
	c.mu.Unlock()
	if c.t.Failed() {
		for _, name := range containers {
			c.t.Logf("--- logs of %s ---\n%s", name, c.logs(name, 60))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if len(containers) > 0 {
		// A paused container must be unpaused before it can be removed.
		_, _ = docker(ctx, append([]string{"unpause"}, containers...)...)
		if _, err := docker(ctx, append([]string{"rm", "-f", "-v"},
			containers...)...); err != nil {
			c.t.Logf("cleanup: %v", err)
		}
	}
	for _, m := range c.nodes {
		if _, err := docker(ctx, "volume", "rm", "-f", m.volume); err != nil {
			c.t.Logf("cleanup: %v", err)
		}
	}
	for _, net := range []string{c.dataNet, c.ctlNet} {
		if net == "" {
			continue
		}
		if _, err := docker(ctx, "network", "rm", net); err != nil &&
			!strings.Contains(err.Error(), "No such network") &&
			!strings.Contains(err.Error(), "not found") {
			c.t.Logf("cleanup: %v", err)
		}
	}
}

// logs returns the last lines a container wrote.
func (c *testCluster) logs(container string, lines int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := []string{"logs", "--tail", strconv.Itoa(lines), container}
	out, err := dockerCombined(ctx, cmd...)
	if err != nil {
		return err.Error()
	}
	return out
}

// The faults the tests inject, each one docker command.

func (c *testCluster) kill(m *member)    { dockerT(c.t, "kill", m.container) }
func (c *testCluster) start(m *member)   { dockerT(c.t, "start", m.container) }
func (c *testCluster) pause(m *member)   { dockerT(c.t, "pause", m.container) }
func (c *testCluster) unpause(m *member) { dockerT(c.t, "unpause", m.container) }

// disconnect cuts m off the data network: no gossip, no actor traffic,
// no vendor; REST on the management network still answers.
func (c *testCluster) disconnect(m *member) {
	dockerT(c.t, "network", "disconnect", c.dataNet, m.container)
}

// reconnect attaches m to the data network again on its old address.
func (c *testCluster) reconnect(m *member) {
	dockerT(c.t, "network", "connect", "--ip", m.dataIP, c.dataNet, m.container)
}

// restarts is how many times Docker restarted m after it exited.
func (c *testCluster) restarts(m *member) int {
	out := dockerT(c.t, "inspect", "-f", "{{.RestartCount}}", m.container)
	n, err := strconv.Atoi(out)
	if err != nil {
		c.t.Fatalf("restart count of %s: %q", m.name, out)
	}
	return n
}

// waitAgreed waits until every node in ask is ready and sees exactly
// want alive and as the ring.
func (c *testCluster) waitAgreed(ask, want []*member, within time.Duration) {
	c.t.Helper()
	var names []string
	for _, m := range want {
		names = append(names, m.name)
	}
	for _, m := range ask {
		var last string
		waitFor(c.t, m.name+" sees ring "+strings.Join(names, ","), within, func() bool {
			st, err := c.api.cluster(m)
			if err != nil {
				last = err.Error()
				return false
			}
			last = st.String()
			return st.agreed(names)
		}, func() string { return "; last answer: " + last })
	}
}

// waitSettled waits until every node agrees on all nodes alive and in
// the ring, continuously for hold.
func (c *testCluster) waitSettled(hold, within time.Duration) {
	c.t.Helper()
	var names []string
	for _, m := range c.nodes {
		names = append(names, m.name)
	}
	var since time.Time
	var last string
	waitFor(c.t, "all nodes agreed for "+hold.String(), within, func() bool {
		for _, m := range c.nodes {
			st, err := c.api.cluster(m)
			if err != nil || !st.agreed(names) {
				last = fmt.Sprintf("%s: %v %v", m.name, st, err)
				since = time.Time{}
				return false
			}
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= hold
	}, func() string { return "; last disagreement: " + last })
}

// waitFor polls cond every 100ms until it holds or within passes, then
// fails the test naming what it waited for and, from detail, what it saw.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool,
	detail ...func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			var seen string
			for _, d := range detail {
				seen += d()
			}
			t.Fatalf("timed out after %v waiting for %s%s", within, what, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
