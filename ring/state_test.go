package ring

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func n(name string) Node { return Node{Name: name, Address: name + ":7000"} }

func ns(names ...string) []Node {
	out := make([]Node, len(names))
	for i, name := range names {
		out[i] = n(name)
	}
	return out
}

func TestStateJoin(t *testing.T) {
	tests := []struct {
		name   string
		st     State
		join   Node
		want   View
		change bool
	}{
		{"first node founds a stable ring", State{}, n("a"),
			View{Epoch: 1, Nodes: ns("a")}, true},
		{"join of a stable ring keeps the old set", State{View: View{Epoch: 1, Nodes: ns("a", "c")}},
			n("b"), View{Epoch: 2, Nodes: ns("a", "b", "c"), Previous: ns("a", "c")}, true},
		{"join while migrating keeps the last stable set",
			State{View: View{Epoch: 2, Nodes: ns("a", "b"), Previous: ns("a")}},
			n("c"), View{Epoch: 3, Nodes: ns("a", "b", "c"), Previous: ns("a")}, true},
		{"member already in the ring", State{View: View{Epoch: 4, Nodes: ns("a", "b")}},
			n("b"), View{Epoch: 4, Nodes: ns("a", "b")}, false},
		{"new address is adopted without a migration",
			State{View: View{Epoch: 4, Nodes: ns("a", "b")}},
			Node{Name: "b", Address: "b:7001"},
			View{Epoch: 5, Nodes: []Node{n("a"), {Name: "b", Address: "b:7001"}}}, true},
		{"tombstoned name never returns",
			State{View: View{Epoch: 4, Nodes: ns("a")}, Tombstones: map[string]uint64{"b": 3}},
			n("b"), View{Epoch: 4, Nodes: ns("a")}, false},
		{"empty name", State{View: View{Epoch: 1, Nodes: ns("a")}}, Node{},
			View{Epoch: 1, Nodes: ns("a")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.st.Clone()
			got, changed := tt.st.Join(tt.join)
			if changed != tt.change || compareViews(got.View, tt.want) != 0 ||
				(got.View.Previous == nil) != (tt.want.Previous == nil) {
				t.Fatalf("Join(%v) = %+v, %v; want %+v, %v", tt.join, got.View, changed,
					tt.want, tt.change)
			}
			if !tt.st.Equal(before) {
				t.Fatalf("Join modified its receiver: %+v", tt.st)
			}
		})
	}
}

func TestStateRemove(t *testing.T) {
	base := State{View: View{Epoch: 5, Nodes: ns("a", "b", "c")},
		Tombstones: map[string]uint64{"z": 2}}
	tests := []struct {
		name    string
		remove  string
		want    View
		wantErr error
	}{
		{"member", "b", View{Epoch: 6, Nodes: ns("a", "c"), Previous: ns("a", "b", "c")}, nil},
		{"already removed is a no-op", "z", base.View, nil},
		{"unknown", "q", base.View, ErrUnknownNode},
		{"empty", "", base.View, ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := base.Remove(tt.remove)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Remove(%q) error = %v, want %v", tt.remove, err, tt.wantErr)
			}
			if compareViews(got.View, tt.want) != 0 {
				t.Fatalf("Remove(%q) = %+v, want %+v", tt.remove, got.View, tt.want)
			}
		})
	}

	got, _, _ := base.Remove("b")
	if got.Tombstones["b"] != 6 || !got.Removed("b") || base.Removed("b") {
		t.Fatalf("Remove(b) tombstones = %v (receiver %v)", got.Tombstones, base.Tombstones)
	}
	if _, again := got.Join(n("b")); again {
		t.Fatal("a removed node joined again")
	}

	last := State{View: View{Epoch: 1, Nodes: ns("a")}}
	if _, _, err := last.Remove("a"); !errors.Is(err, ErrLastNode) {
		t.Fatalf("Remove(last) = %v, want ErrLastNode", err)
	}
}

func TestStateSettle(t *testing.T) {
	moving := State{View: View{Epoch: 7, Nodes: ns("a", "b", "d"), Previous: ns("a", "b", "c")}}
	aliveAll := func(string) bool { return true }
	tests := []struct {
		name   string
		done   map[string]uint64
		alive  func(string) bool
		settle bool
	}{
		{"nobody done", nil, aliveAll, false},
		{"done for an older epoch", map[string]uint64{"a": 6, "b": 6, "c": 6, "d": 6},
			aliveAll, false},
		{"one live node missing", map[string]uint64{"a": 7, "b": 7, "d": 7}, aliveAll, false},
		{"every live node done", map[string]uint64{"a": 7, "b": 7, "c": 7, "d": 7},
			aliveAll, true},
		{"dead nodes do not hold it up", map[string]uint64{"a": 7, "d": 7},
			func(name string) bool { return name == "a" || name == "d" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := moving.Clone()
			st.Done = tt.done
			got, changed := st.Settle(tt.alive)
			if changed != tt.settle || (got.View.Previous == nil) != tt.settle {
				t.Fatalf("Settle = %+v, %v; want settled %v", got.View, changed, tt.settle)
			}
			if got.View.Epoch != 7 {
				t.Fatalf("Settle changed the epoch to %d", got.View.Epoch)
			}
		})
	}
}

func TestStateMarkDone(t *testing.T) {
	st := State{View: View{Epoch: 3, Nodes: ns("a")}}
	st2, changed := st.MarkDone("a", 3)
	if !changed || !st2.DoneFor("a") || st.DoneFor("a") {
		t.Fatalf("MarkDone(a, 3) = %v, %v", st2.Done, changed)
	}
	if _, changed := st2.MarkDone("a", 2); changed {
		t.Fatal("MarkDone for an older epoch changed the state")
	}
}

func TestMergeTable(t *testing.T) {
	tests := []struct {
		name string
		a, b State
		want View
		tomb []string
	}{
		{"higher epoch wins",
			State{View: View{Epoch: 3, Nodes: ns("a", "b")}},
			State{View: View{Epoch: 4, Nodes: ns("a", "b"), Previous: ns("a")}},
			View{Epoch: 4, Nodes: ns("a", "b"), Previous: ns("a")}, nil},
		{"settled beats migrating at one epoch",
			State{View: View{Epoch: 4, Nodes: ns("a", "b"), Previous: ns("a")}},
			State{View: View{Epoch: 4, Nodes: ns("a", "b")}},
			View{Epoch: 4, Nodes: ns("a", "b")}, nil},
		{"a node only the loser knows is added above both",
			State{View: View{Epoch: 2, Nodes: ns("a", "b"), Previous: ns("a")}},
			State{View: View{Epoch: 2, Nodes: ns("a", "c"), Previous: ns("a")}},
			View{Epoch: 3, Nodes: ns("a", "b", "c"), Previous: ns("a")}, nil},
		{"tombstones win over a newer view",
			State{View: View{Epoch: 6, Nodes: ns("a", "c")}, Tombstones: map[string]uint64{"b": 6}},
			State{View: View{Epoch: 8, Nodes: ns("a", "b", "c")}},
			View{Epoch: 9, Nodes: ns("a", "c"), Previous: ns("a", "b", "c")}, []string{"b"}},
		{"a removed node is not brought back by an old view",
			State{View: View{Epoch: 6, Nodes: ns("a", "c")}, Tombstones: map[string]uint64{"b": 6}},
			State{View: View{Epoch: 4, Nodes: ns("a", "b", "c")}},
			View{Epoch: 6, Nodes: ns("a", "c")}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, got := range []State{Merge(tt.a, tt.b), Merge(tt.b, tt.a)} {
				if compareViews(got.View, tt.want) != 0 ||
					(got.View.Previous == nil) != (tt.want.Previous == nil) {
					t.Fatalf("Merge = %+v, want %+v", got.View, tt.want)
				}
				for _, name := range tt.tomb {
					if !got.Removed(name) {
						t.Fatalf("Merge lost the tombstone of %q", name)
					}
				}
				if err := got.check(); err != nil {
					t.Fatalf("Merge broke an invariant: %v", err)
				}
			}
		})
	}
}

// randomState builds a well-formed state from a small pool of names.
func randomState(rng *rand.Rand) State {
	pool := []string{"a", "b", "c", "d", "e", "f"}
	st := State{}
	for _, name := range pool {
		switch rng.IntN(4) {
		case 0:
			st, _ = st.Join(n(name))
		case 1:
			st, _ = st.Join(Node{Name: name, Address: name + ":9000"})
		}
	}
	for _, name := range pool {
		if rng.IntN(5) == 0 {
			st, _, _ = st.Remove(name)
		}
		if rng.IntN(3) == 0 {
			st, _ = st.MarkDone(name, uint64(rng.IntN(int(st.View.Epoch)+1)))
		}
	}
	if rng.IntN(2) == 0 {
		st, _ = st.Settle(func(string) bool { return rng.IntN(2) == 0 })
	}
	st.View.Epoch += uint64(rng.IntN(3))
	return st
}

func TestMergeProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 3000 {
		a, b, c := randomState(rng), randomState(rng), randomState(rng)
		desc := fmt.Sprintf("case %d: a=%+v b=%+v", i, a, b)

		if ab, ba := Merge(a, b), Merge(b, a); !ab.Equal(ba) {
			t.Fatalf("%s: not commutative:\n%+v\n%+v", desc, ab, ba)
		}
		if aa := Merge(a, a); !aa.Equal(a) {
			t.Fatalf("%s: not idempotent: %+v", desc, aa)
		}
		ab := Merge(a, b)
		if again := Merge(ab, b); !again.Equal(ab) {
			t.Fatalf("%s: merging b twice changed the state:\n%+v\n%+v", desc, ab, again)
		}
		if err := ab.check(); err != nil {
			t.Fatalf("%s: %v", desc, err)
		}

		// Tombstones win: no removed name is in any merged ring, and
		// every name either side holds survives unless removed.
		abc := Merge(ab, c)
		for _, src := range []State{a, b, c} {
			for name := range src.Tombstones {
				if contains(abc.View.Nodes, name) || !abc.Removed(name) {
					t.Fatalf("%s: removed %q is back in %+v", desc, name, abc.View)
				}
			}
			for _, node := range src.View.Nodes {
				if !abc.Removed(node.Name) && !contains(abc.View.Nodes, node.Name) {
					t.Fatalf("%s: node %q lost by the merge: %+v", desc, node.Name, abc.View)
				}
			}
		}
		if abc.View.Epoch < max(a.View.Epoch, b.View.Epoch, c.View.Epoch) {
			t.Fatalf("%s: epoch went back to %d", desc, abc.View.Epoch)
		}
	}
}

// Nodes that gossip in any order end with one state.
func TestMergeConverges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for range 300 {
		states := []State{randomState(rng), randomState(rng), randomState(rng), randomState(rng)}
		for range 6 {
			i, j := rng.IntN(len(states)), rng.IntN(len(states))
			m := Merge(states[i], states[j])
			states[i], states[j] = m, m
		}
		// A full round in a fixed order, twice, must reach a fixpoint.
		for range 2 {
			acc := states[0]
			for _, s := range states[1:] {
				acc = Merge(acc, s)
			}
			for i := range states {
				states[i] = Merge(states[i], acc)
			}
		}
		for i := 1; i < len(states); i++ {
			if !states[i].Equal(states[0]) {
				t.Fatalf("states did not converge:\n%+v\n%+v", states[0], states[i])
			}
		}
	}
}

func TestStateCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for range 500 {
		st := randomState(rng)
		b, err := st.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%+v)): %v", st, err)
		}
		if !got.Equal(st) || (got.View.Previous == nil) != (st.View.Previous == nil) {
			t.Fatalf("round trip = %+v, want %+v", got, st)
		}
		b2, _ := got.Marshal()
		if !slices.Equal(b, b2) {
			t.Fatal("Marshal is not deterministic")
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	bad := []struct {
		name string
		st   State
	}{
		{"unsorted nodes", State{View: View{Epoch: 1, Nodes: ns("b", "a")}}},
		{"duplicate nodes", State{View: View{Epoch: 1, Nodes: ns("a", "a")}}},
		{"empty name", State{View: View{Epoch: 1, Nodes: []Node{{Address: "x:1"}}}}},
		{"tombstoned member", State{View: View{Epoch: 1, Nodes: ns("a")},
			Tombstones: map[string]uint64{"a": 1}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.st.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Unmarshal(b); !errors.Is(err, ErrBadState) {
				t.Fatalf("Unmarshal = %v, want ErrBadState", err)
			}
		})
	}
	if _, err := Unmarshal([]byte{0xff, 0xff}); !errors.Is(err, ErrBadState) {
		t.Fatalf("Unmarshal(garbage) = %v, want ErrBadState", err)
	}
}
