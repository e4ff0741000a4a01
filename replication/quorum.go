package replication

import (
	"context"

	"github.com/herald-im/herald/ring"
)

// RingSource is what replication needs from the ring: the view to place
// keys, this node, and whether membership sees a node alive.
type RingSource interface {
	// View returns the current ring view; it is called per operation.
	View() ring.View
	// Self returns this node.
	Self() ring.Node
	// Alive reports whether membership sees the named node alive. A dead
	// node is not sent requests and counts as no answer at once.
	Alive(name string) bool
}

// union returns the nodes of both replica sets, each once, current first.
func union(current, previous []ring.Node) []ring.Node {
	out := append([]ring.Node(nil), current...)
	for _, p := range previous {
		if !contains(out, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

func contains(nodes []ring.Node, name string) bool {
	for _, n := range nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

// without returns nodes minus the named one.
func without(nodes []ring.Node, name string) []ring.Node {
	out := make([]ring.Node, 0, len(nodes))
	for _, n := range nodes {
		if n.Name != name {
			out = append(out, n)
		}
	}
	return out
}

// tally counts the answers of one round against the quorum rule: a
// majority of the current replicas and, during a ring change, also a
// majority of the previous ones.
type tally struct {
	groups [][]ring.Node
	answer map[string]bool // node → answered yes (true) or no (false)
}

func newTally(current, previous []ring.Node) *tally {
	t := &tally{groups: [][]ring.Node{current}, answer: map[string]bool{}}
	if previous != nil {
		t.groups = append(t.groups, previous)
	}
	return t
}

// record notes one node's answer; a failure to answer counts as no.
func (t *tally) record(node string, yes bool) {
	t.answer[node] = yes
}

// reached reports whether every group has a majority of yes.
func (t *tally) reached() bool {
	for _, g := range t.groups {
		if t.count(g, true) < majority(len(g)) {
			return false
		}
	}
	return true
}

// lost reports whether some group can no longer reach a majority of yes.
func (t *tally) lost() bool {
	for _, g := range t.groups {
		if len(g)-t.count(g, false) < majority(len(g)) {
			return true
		}
	}
	return false
}

func (t *tally) count(group []ring.Node, yes bool) int {
	n := 0
	for _, node := range group {
		if a, ok := t.answer[node.Name]; ok && a == yes {
			n++
		}
	}
	return n
}

func majority(n int) int {
	return n/2 + 1
}

// vote is one node's answer in a round.
type vote[T any] struct {
	node  string
	reply T
	err   error
}

// broadcast calls every node and delivers the answers as they come. Remote
// nodes are called on goroutines of their own; the local replica, named
// self, is called on the caller's goroutine once the remote requests are
// on their way, as its answer takes about as long as theirs (an fsync).
// The channel is buffered for all answers, so the caller may stop reading
// once it has a quorum and no goroutine is left blocked.
func broadcast[T any](ctx context.Context, nodes []ring.Node, self string,
	call func(context.Context, ring.Node) (T, error)) <-chan vote[T] {
	votes := make(chan vote[T], len(nodes))
	var local *ring.Node
	for i, n := range nodes {
		if n.Name == self {
			local = &nodes[i]
			continue
		}
		go func() {
			reply, err := call(ctx, n)
			votes <- vote[T]{node: n.Name, reply: reply, err: err}
		}()
	}
	if local != nil {
		reply, err := call(ctx, *local)
		votes <- vote[T]{node: local.Name, reply: reply, err: err}
	}
	return votes
}
