package dockertest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"
)

// Three containers form one cluster: every node sees three alive members
// and a ring of three, and bindings acknowledged through the first node
// read back through the third, whichever node owns each user.
func TestDockerClusterForms(t *testing.T) {
	began := time.Now()
	c := startCluster(t, 3)
	t.Logf("cluster of 3 containers agreed in %v", time.Since(began).Round(time.Millisecond))
	first, third := c.nodes[0], c.nodes[2]
	c.api.setUpApp(t, first)

	const users = 40
	want := map[string]binding{}
	for i := range users {
		b := binding{user: fmt.Sprintf("form-%d", i), device: "d1",
			token: deviceToken(fmt.Sprintf("form-%d", i))}
		code, err := c.api.bind(first, b)
		if err != nil || code != http.StatusOK {
			t.Fatalf("bind %s through %s: status %d, %v", b.user, first.name, code, err)
		}
		want[b.user] = b
	}

	for _, user := range slices.Sorted(maps.Keys(want)) {
		b := want[user]
		got, code, err := c.api.bindings(third, user)
		if err != nil || code != http.StatusOK {
			t.Fatalf("read %s through %s: status %d, %v", user, third.name, code, err)
		}
		if exp := map[string]string{b.device: b.token}; !maps.Equal(got, exp) {
			t.Errorf("%s through %s has bindings %v, want %v", user, third.name, got, exp)
		}
	}
	t.Logf("%d bindings written through %s read back through %s; total %v", users,
		first.name, third.name, time.Since(began).Round(time.Millisecond))
}
