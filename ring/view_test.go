package ring

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func nodesNamed(names ...string) []Node {
	out := make([]Node, len(names))
	for i, n := range names {
		out[i] = Node{Name: n, Address: "127.0.0.1:" + fmt.Sprint(7000+i)}
	}
	return out
}

func nodeRange(n int) []Node {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("node-%02d", i)
	}
	return nodesNamed(names...)
}

func TestRendezvousSizes(t *testing.T) {
	tests := []struct {
		nodes, n, want int
	}{
		{0, 3, 0},
		{1, 3, 1},
		{2, 3, 2},
		{3, 3, 3},
		{7, 3, 3},
		{7, 0, 0},
		{7, -1, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_of_%d", tt.n, tt.nodes), func(t *testing.T) {
			got := Rendezvous(nodeRange(tt.nodes), "user/o#a/bob", tt.n)
			if len(got) != tt.want {
				t.Fatalf("Rendezvous(%d nodes, n=%d) = %d nodes, want %d",
					tt.nodes, tt.n, len(got), tt.want)
			}
		})
	}
}

// The order of the input and repeated calls must not matter: every node
// computes the replicas of a key on its own.
func TestRendezvousStable(t *testing.T) {
	nodes := nodeRange(9)
	rng := rand.New(rand.NewPCG(1, 2))
	for k := range 500 {
		key := fmt.Sprintf("user/o#a/u%d", k)
		want := Rendezvous(nodes, key, 3)
		shuffled := slices.Clone(nodes)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := Rendezvous(shuffled, key, 3); !slices.Equal(got, want) {
			t.Fatalf("Rendezvous(%q) depends on input order: %v vs %v", key, got, want)
		}
		if got := Rendezvous(nodes, key, 3); !slices.Equal(got, want) {
			t.Fatalf("Rendezvous(%q) changed between calls: %v vs %v", key, got, want)
		}
		if len(distinct(want)) != 3 {
			t.Fatalf("Rendezvous(%q) = %v, repeats a node", key, want)
		}
	}
}

// Each node must get about its share of first replicas and of replicas.
func TestRendezvousSpread(t *testing.T) {
	for _, size := range []int{3, 5, 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			nodes := nodeRange(size)
			const keys = 20000
			first := map[string]int{}
			held := map[string]int{}
			for k := range keys {
				top := Rendezvous(nodes, fmt.Sprintf("app/org#app%d", k), 3)
				first[top[0].Name]++
				for _, n := range top {
					held[n.Name]++
				}
			}
			wantFirst := float64(keys) / float64(size)
			wantAny := float64(keys) * float64(min(3, size)) / float64(size)
			for _, n := range nodes {
				if f := float64(first[n.Name]); f < 0.85*wantFirst || f > 1.15*wantFirst {
					t.Errorf("%s is first replica of %v keys, want about %v", n.Name, f, wantFirst)
				}
				if a := float64(held[n.Name]); a < 0.9*wantAny || a > 1.1*wantAny {
					t.Errorf("%s replicates %v keys, want about %v", n.Name, a, wantAny)
				}
			}
		})
	}
}

// When a node joins, a key's replica set changes only if the new node
// enters its top three, and then only by that node replacing the old
// third; no other key moves.
func TestRendezvousMinimalMovement(t *testing.T) {
	for _, size := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			before := nodeRange(size)
			joined := Node{Name: "node-new", Address: "127.0.0.1:9999"}
			after := append(slices.Clone(before), joined)

			const keys = 10000
			moved := 0
			for k := range keys {
				key := fmt.Sprintf("token/o#a/apns/%d", k)
				old := Rendezvous(before, key, 3)
				cur := Rendezvous(after, key, 3)
				if !slices.Contains(cur, joined) {
					if !slices.Equal(old, cur) {
						t.Fatalf("key %q moved without the new node: %v -> %v", key, old, cur)
					}
					continue
				}
				moved++
				kept := slices.DeleteFunc(slices.Clone(cur), func(n Node) bool { return n == joined })
				for _, n := range kept {
					if !slices.Contains(old, n) {
						t.Fatalf("key %q gained %s besides the new node: %v -> %v",
							key, n.Name, old, cur)
					}
				}
				if size >= 3 && len(kept) != 2 {
					t.Fatalf("key %q: %v -> %v, want one replica replaced", key, old, cur)
				}
			}

			// The new node takes its share and no more: 3/(size+1) of the
			// keys (all of them while the ring has at most three nodes).
			want := float64(keys) * min(1, 3/float64(size+1))
			if f := float64(moved); f < 0.9*want || f > 1.1*want {
				t.Errorf("%d of %d keys moved, want about %v", moved, keys, want)
			}
		})
	}
}

func TestViewReplicas(t *testing.T) {
	stable := View{Epoch: 1, Nodes: nodeRange(4)}
	cur, prev := stable.Replicas("user/o#a/bob")
	if len(cur) != 3 || prev != nil {
		t.Fatalf("stable Replicas = %v, %v; want 3 nodes and nil", cur, prev)
	}

	moving := View{Epoch: 2, Nodes: nodeRange(5), Previous: nodeRange(4)}
	cur, prev = moving.Replicas("user/o#a/bob")
	if !slices.Equal(cur, Rendezvous(moving.Nodes, "user/o#a/bob", 3)) ||
		!slices.Equal(prev, Rendezvous(moving.Previous, "user/o#a/bob", 3)) {
		t.Fatalf("moving Replicas = %v, %v", cur, prev)
	}
}

func distinct(nodes []Node) map[string]bool {
	out := map[string]bool{}
	for _, n := range nodes {
		out[n.Name] = true
	}
	return out
}

// The score must not depend on which hashing path a key length takes.
func TestScoreMatchesPlainHash(t *testing.T) {
	for _, keyLen := range []int{0, 10, 240, 250, 251, 300, 5000} {
		key := strings.Repeat("k", keyLen)
		want := xxhash.Sum64String("node-1\x00" + key)
		if got := score("node-1", key); got != want {
			t.Fatalf("score(node-1, %d-byte key) = %x, want %x", keyLen, got, want)
		}
	}
}
