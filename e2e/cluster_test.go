package e2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterStatus is the part of GET /admin/cluster's data the tests read.
type clusterStatus struct {
	Self    string          `json:"self"`
	Epoch   uint64          `json:"epoch"`
	Stable  bool            `json:"stable"`
	Ring    []clusterMember `json:"ring"`
	Members []clusterMember `json:"members"`
}

type clusterMember struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	State   string `json:"state"`
	InRing  bool   `json:"in_ring"`
	Health  string `json:"health"`
}

// startMember runs one herald cluster member on free ports, joining
// seeds (none for the first node), and waits until it is ready.
func startMember(t *testing.T, name string, seeds ...string) *node {
	t.Helper()
	n := &node{dataDir: filepath.Join(t.TempDir(), name), http: freeAddr(t),
		gossip: freeAddr(t), remote: freeAddr(t)}
	args := []string{"--data-dir", n.dataDir, "--http-addr", n.http,
		"--gossip-addr", n.gossip, "--remote-addr", n.remote, "--node-name", name}
	if len(seeds) > 0 {
		args = append(args, "--seeds", strings.Join(seeds, ","))
	}
	n.proc = start(t, "herald", []string{"HERALD_BOOTSTRAP_TOKEN=" + bootstrapToken}, args...)
	n.http = "http://" + n.http

	waitFor(t, name+" /readyz", 30*time.Second, func() bool {
		select {
		case <-n.done:
			t.Fatalf("%s exited early:\n%s", name, n.output())
		default:
		}
		var body map[string]any
		return tryJSON("GET", n.http+"/readyz", &body) == 200
	})
	return n
}

// clusterOf asks n for GET /admin/cluster. It fails the test at once when
// the node does not serve the endpoint at all.
func clusterOf(t *testing.T, n *node) (clusterStatus, bool) {
	t.Helper()
	req, err := http.NewRequest("GET", n.http+"/admin/cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bootstrapToken)
	resp, err := shortClient.Do(req)
	if err != nil {
		return clusterStatus{}, false
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Fatalf("GET /admin/cluster answers 404: the node's backend does not " +
			"implement api.ClusterAdmin")
	}
	var env struct {
		Data clusterStatus `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&env) != nil {
		return clusterStatus{}, false
	}
	return env.Data, true
}

// agreed reports whether st shows exactly the nodes want, all alive and
// all in the ring.
func agreed(st clusterStatus, want []string) bool {
	var alive, ring []string
	for _, m := range st.Members {
		if m.State == "alive" && m.InRing {
			alive = append(alive, m.Name)
		}
	}
	for _, m := range st.Ring {
		ring = append(ring, m.Name)
	}
	return slices.Equal(alive, want) && slices.Equal(ring, want)
}

var (
	heraldctlOnce sync.Once
	heraldctlErr  error
	heraldctlOut  []byte
)

// buildHeraldctl builds cmd/heraldctl into the package's binary directory.
func buildHeraldctl(t *testing.T) string {
	t.Helper()
	path := filepath.Join(binDir, "heraldctl")
	heraldctlOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", path, "../cmd/heraldctl")
		heraldctlOut, heraldctlErr = cmd.CombinedOutput()
	})
	if heraldctlErr != nil {
		t.Fatalf("build heraldctl: %v\n%s", heraldctlErr, heraldctlOut)
	}
	return path
}

// Three nodes started with seeds form one ring: every node lists the
// three as alive members and as the ring, and heraldctl shows them. A
// killed node stays in the ring until heraldctl removes it.
func TestClusterThreeNodesFormOneRing(t *testing.T) {
	ctl := buildHeraldctl(t)
	a := startMember(t, "node-a")
	b := startMember(t, "node-b", a.gossip)
	c := startMember(t, "node-c", a.gossip, b.gossip)
	nodes := []*node{a, b, c}
	want := []string{"node-a", "node-b", "node-c"}

	for _, n := range nodes {
		var last clusterStatus
		waitFor(t, "a ring of three on "+n.http, 60*time.Second, func() bool {
			st, ok := clusterOf(t, n)
			last = st
			return ok && agreed(st, want)
		})
		t.Logf("%s sees epoch %d, stable %v, ring %v", last.Self, last.Epoch, last.Stable,
			last.Ring)
	}

	// The ring settles: once every node copied its share, each reports
	// the same epoch with no previous node set. Done flags travel in
	// memberlist's push/pull, every 15 s, hence the long deadline.
	waitFor(t, "one stable epoch on every node", 120*time.Second, func() bool {
		var epochs []uint64
		for _, n := range nodes {
			st, ok := clusterOf(t, n)
			if !ok || !st.Stable || !agreed(st, want) {
				return false
			}
			epochs = append(epochs, st.Epoch)
		}
		return epochs[0] == epochs[1] && epochs[1] == epochs[2]
	})

	// heraldctl members prints one aligned row per node, all alive and
	// in the ring.
	out := runCtl(t, ctl, b.http, "members")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("heraldctl members printed:\n%s", out)
	}
	for i, name := range want {
		f := strings.Fields(lines[i+1])
		if f[0] != name || !slices.Contains(f, "alive") || !slices.Contains(f, "yes") {
			t.Errorf("heraldctl members row %d = %q, want %s alive in the ring", i, lines[i+1],
				name)
		}
	}

	// A killed node stays in the ring, dead, until an operator removes
	// it; then the other two drop it and keep its tombstone.
	c.kill()
	waitFor(t, "node-c dead but in the ring", 30*time.Second, func() bool {
		st, ok := clusterOf(t, a)
		return ok && len(st.Ring) == 3 && memberState(st, "node-c") == "dead"
	})
	runCtl(t, ctl, a.http, "remove", "node-c")
	for _, n := range []*node{a, b} {
		waitFor(t, "a ring of two on "+n.http, 60*time.Second, func() bool {
			st, ok := clusterOf(t, n)
			return ok && agreed(st, want[:2])
		})
	}
	if out := runCtl(t, ctl, b.http, "ring"); !strings.Contains(out, "removed: node-c") {
		t.Fatalf("heraldctl ring on node-b does not show the removal:\n%s", out)
	}

	a.stop(t)
	b.stop(t)
}

func memberState(st clusterStatus, name string) string {
	for _, m := range st.Members {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

// runCtl runs heraldctl against addr and returns its output; it must
// succeed.
func runCtl(t *testing.T, ctl, addr string, args ...string) string {
	t.Helper()
	cmd := exec.Command(ctl, append([]string{"--addr", addr}, args...)...)
	cmd.Env = []string{"HERALD_BOOTSTRAP_TOKEN=" + bootstrapToken}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("heraldctl %v: %v\n%s", args, err, out)
	}
	return string(out)
}
