package chaos

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"
)

const (
	bootstrapToken = "chaos-bootstrap-token"
	appKey         = "chaos#app"
)

// hnode is one herald node: a name and data directory kept across
// restarts, fixed addresses, and its current process.
type hnode struct {
	name, dataDir        string
	http, gossip, remote string // http is a base URL

	mu   sync.Mutex
	proc *proc
	runs int
}

// cluster is the herald nodes of a test and the vendorsim they push to.
type cluster struct {
	t     *testing.T
	sim   *sim
	nodes []*hnode
	used  map[string]bool // addresses handed out, kept across restarts
}

func newCluster(t *testing.T, s *sim) *cluster {
	return &cluster{t: t, sim: s, used: map[string]bool{}}
}

// freeAddr returns a free 127.0.0.1 address no node of c uses: the
// kernel may hand out a port again once its probe listener closed.
func (c *cluster) freeAddr() string {
	for range 100 {
		if a := freeAddr(c.t); !c.used[a] {
			c.used[a] = true
			return a
		}
	}
	c.t.Fatal("no unused port after 100 tries")
	return ""
}

// add creates a node named name (not started) with free addresses.
func (c *cluster) add(name string) *hnode {
	n := &hnode{name: name, dataDir: filepath.Join(c.t.TempDir(), name),
		http: "http://" + c.freeAddr(), gossip: c.freeAddr(), remote: c.freeAddr()}
	c.nodes = append(c.nodes, n)
	return n
}

// seeds are the gossip addresses of every node but n that was started
// before (a first node has none, as in the README).
func (c *cluster) seeds(n *hnode) []string {
	var out []string
	for _, o := range c.nodes {
		if o != n && o.current() != nil {
			out = append(out, o.gossip)
		}
	}
	return out
}

// launch starts n's process (again) and waits until it is ready.
func (c *cluster) launch(n *hnode) {
	c.t.Helper()
	args := []string{"--data-dir", n.dataDir, "--http-addr", strings.TrimPrefix(n.http,
		"http://"), "--gossip-addr", n.gossip, "--remote-addr", n.remote, "--node-name",
		n.name, "--push-timeout", "5s", "--log-level", "warn"}
	if seeds := c.seeds(n); len(seeds) > 0 {
		args = append(args, "--seeds", strings.Join(seeds, ","))
	}
	n.mu.Lock()
	n.runs++
	p := start(c.t, fmt.Sprintf("%s run %d", n.name, n.runs), "herald", []string{
		"HERALD_BOOTSTRAP_TOKEN=" + bootstrapToken, "SSL_CERT_FILE=" + c.sim.caFile}, args...)
	n.proc = p
	n.mu.Unlock()

	waitFor(c.t, n.name+" /readyz", 60*time.Second, func() bool {
		if p.exited() {
			c.t.Fatalf("%s exited at start:\n%s", n.name, tail(p.output(), 40))
		}
		var body map[string]any
		return getJSON(n.http+"/readyz", "", &body)
	})
}

func (n *hnode) current() *proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// bases are the REST base URLs of nodes.
func bases(nodes []*hnode) string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.http)
	}
	return strings.Join(out, ",")
}

func gossips(nodes []*hnode) string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.gossip)
	}
	return strings.Join(out, ",")
}

// status is the part of GET /admin/cluster the tests read.
type status struct {
	Self    string   `json:"self"`
	Epoch   uint64   `json:"epoch"`
	Stable  bool     `json:"stable"`
	Ring    []member `json:"ring"`
	Members []member `json:"members"`
}

type member struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

func statusOf(n *hnode) (status, bool) {
	var env struct {
		Data status `json:"data"`
	}
	ok := getJSON(n.http+"/admin/cluster", bootstrapToken, &env)
	return env.Data, ok
}

// settled reports whether every node in want answers with a stable ring
// of exactly want, all alive, at one epoch.
func settled(want []*hnode) bool {
	var names []string
	for _, n := range want {
		names = append(names, n.name)
	}
	slices.Sort(names)
	var epoch uint64
	for i, n := range want {
		st, ok := statusOf(n)
		if !ok || !st.Stable || (i > 0 && st.Epoch != epoch) {
			return false
		}
		epoch = st.Epoch
		var ring, alive []string
		for _, m := range st.Ring {
			ring = append(ring, m.Name)
		}
		for _, m := range st.Members {
			if m.State == "alive" {
				alive = append(alive, m.Name)
			}
		}
		slices.Sort(ring)
		slices.Sort(alive)
		if !slices.Equal(ring, names) || !slices.Equal(alive, names) {
			return false
		}
	}
	return true
}

// removeNode asks via a node for name's removal from the ring.
func removeNode(t *testing.T, via *hnode, name string) {
	t.Helper()
	req, err := http.NewRequest("DELETE", via.http+"/admin/cluster/nodes/"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bootstrapToken)
	resp, err := shortClient.Do(req)
	if err != nil {
		t.Fatalf("remove %s: %v", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("remove %s: status %d", name, resp.StatusCode)
	}
}

// stopAll stops every node gracefully; a node that does not stop within
// 30 s is killed and the test fails (its store would still be fine).
func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		p := n.current()
		if p == nil || p.exited() {
			continue
		}
		wg.Go(func() {
			if !p.stop(30 * time.Second) {
				c.t.Errorf("%s did not exit cleanly after SIGTERM", n.name)
			}
		})
	}
	wg.Wait()
}

// owner is the node whose address Proto.Actor's rendezvous placement
// (the nodes' disthash identity lookup) picks for a user grain among
// alive.
func owner(alive []*hnode, user string) *hnode {
	r := protocluster.NewRendezvous()
	var members []*protocluster.Member
	for _, n := range alive {
		host, port, _ := net.SplitHostPort(n.remote)
		p, _ := strconv.Atoi(port)
		members = append(members, &protocluster.Member{Host: host, Port: int32(p),
			Id: n.name, Kinds: []string{"user"}})
	}
	r.UpdateMembers(members)
	addr := r.GetByClusterIdentity(&protocluster.ClusterIdentity{Kind: "user",
		Identity: appKey + "/" + user})
	for _, n := range alive {
		if n.remote == addr {
			return n
		}
	}
	return nil
}
