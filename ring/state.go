package ring

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Errors of ring changes requested by an operator.
var (
	// ErrInvalidName: the node name is empty.
	ErrInvalidName = errors.New("ring: node name is empty")
	// ErrUnknownNode: the name is neither in the ring nor removed.
	ErrUnknownNode = errors.New("ring: no such node in the ring")
	// ErrLastNode: removing the node would leave the ring empty.
	ErrLastNode = errors.New("ring: cannot remove the last node")
)

// State is the ring's replicated state: the view, the nodes that finished
// copying for an epoch, and the names an operator removed. It is a value:
// every change returns a new State and leaves the receiver as it was, so a
// published State can be shared without locks.
//
// Its invariants: Nodes and Previous are sorted by name without
// duplicates, and no tombstoned name is in Nodes.
type State struct {
	View View

	// Done maps a node name to the latest epoch for which that node
	// finished copying the registers it holds. A node is done for the
	// current epoch when Done[name] >= View.Epoch.
	Done map[string]uint64

	// Tombstones maps a removed name to the epoch of its removal. A
	// tombstone is permanent: the name never joins again.
	Tombstones map[string]uint64
}

// Clone returns a deep copy of s.
func (s State) Clone() State {
	return State{
		View: View{
			Epoch:    s.View.Epoch,
			Nodes:    slices.Clone(s.View.Nodes),
			Previous: slices.Clone(s.View.Previous),
		},
		Done:       maps.Clone(s.Done),
		Tombstones: maps.Clone(s.Tombstones),
	}
}

// Equal reports whether s and o hold the same state.
func (s State) Equal(o State) bool {
	return compareViews(s.View, o.View) == 0 &&
		maps.Equal(s.Done, o.Done) && maps.Equal(s.Tombstones, o.Tombstones)
}

// Removed reports whether name was removed by an operator.
func (s State) Removed(name string) bool {
	_, ok := s.Tombstones[name]
	return ok
}

// DoneFor reports whether node name finished copying for the current epoch.
func (s State) DoneFor(name string) bool {
	return s.Done[name] >= s.View.Epoch && s.View.Epoch > 0
}

// Join adds n to the ring, or updates its address when it is already in
// the ring under another one. It reports whether anything changed; a
// tombstoned name is never added.
//
// Adding a node bumps the epoch and starts a migration (see change). An
// address update bumps the epoch too, so that every node adopts the new
// address, but moves no register.
func (s State) Join(n Node) (State, bool) {
	if n.Name == "" || s.Removed(n.Name) {
		return s, false
	}
	i, found := findNode(s.View.Nodes, n.Name)
	if found && s.View.Nodes[i].Address == n.Address {
		return s, false
	}

	out := s.Clone()
	out.View.Epoch++
	if found {
		out.View.Nodes[i].Address = n.Address
		if j, ok := findNode(out.View.Previous, n.Name); ok {
			out.View.Previous[j].Address = n.Address
		}
		return out, true
	}
	nodes := slices.Insert(slices.Clone(s.View.Nodes), i, n)
	out.View.Nodes, out.View.Previous = nodes, nextPrevious(s.View, nodes)
	return out, true
}

// Remove tombstones name and takes it out of the ring. Removing a name
// that is already tombstoned changes nothing and is not an error.
func (s State) Remove(name string) (State, bool, error) {
	if name == "" {
		return s, false, ErrInvalidName
	}
	if s.Removed(name) {
		return s, false, nil
	}
	i, found := findNode(s.View.Nodes, name)
	if !found {
		return s, false, fmt.Errorf("remove %q: %w", name, ErrUnknownNode)
	}
	if len(s.View.Nodes) == 1 {
		return s, false, fmt.Errorf("remove %q: %w", name, ErrLastNode)
	}

	out := s.Clone()
	out.View.Epoch++
	nodes := slices.Delete(slices.Clone(s.View.Nodes), i, i+1)
	out.View.Nodes, out.View.Previous = nodes, nextPrevious(s.View, nodes)
	if out.Tombstones == nil {
		out.Tombstones = map[string]uint64{}
	}
	out.Tombstones[name] = out.View.Epoch
	return out, true, nil
}

// nextPrevious is the Previous of the view that follows old with nodes.
//
// When old is stable, that is old's node set: every acknowledged write
// sits on a majority of its replicas there. When old is itself still
// migrating, its Previous is kept instead: the registers of old's
// migration may not have been copied yet, so old's own node set holds no
// such guarantee, while its Previous still does. A ring that was empty
// has nothing to migrate.
func nextPrevious(old View, nodes []Node) []Node {
	prev := old.Previous
	if prev == nil {
		prev = old.Nodes
	}
	if len(prev) == 0 || sameNames(prev, nodes) {
		return nil
	}
	return slices.Clone(prev)
}

// MarkDone records that node name finished copying for epoch.
func (s State) MarkDone(name string, epoch uint64) (State, bool) {
	if name == "" || s.Done[name] >= epoch {
		return s, false
	}
	out := s.Clone()
	if out.Done == nil {
		out.Done = map[string]uint64{}
	}
	out.Done[name] = epoch
	return out, true
}

// Settle ends a migration: once every node of the current and the
// previous set that alive reports as alive is done for the current epoch,
// Previous is dropped (the epoch stays). Dead nodes do not hold a
// migration up; what they hold is repaired by anti-entropy when they
// return.
func (s State) Settle(alive func(name string) bool) (State, bool) {
	if s.View.Previous == nil {
		return s, false
	}
	for _, set := range [][]Node{s.View.Nodes, s.View.Previous} {
		for _, n := range set {
			if alive(n.Name) && !s.DoneFor(n.Name) {
				return s, false
			}
		}
	}
	out := s.Clone()
	out.View.Previous = nil
	return out, true
}

// Merge combines two states; it is commutative and idempotent, so nodes
// converge whatever order they exchange states in.
//
// Tombstones and done flags are unions. The view with the higher epoch
// wins; at an equal epoch a settled view beats one still migrating (it is
// the same ring, one step further), and any other tie is broken by
// comparing the views so both sides pick the same one. Nodes that only
// the losing view has, and that are not tombstoned, are added to the
// winner, and tombstoned nodes are taken out of it: the ring is the set
// of nodes that ever joined and were not removed, whichever view heard of
// them first. Such a correction is a ring change of its own, one epoch
// above both.
func Merge(a, b State) State {
	out := State{
		Done:       unionMax(a.Done, b.Done),
		Tombstones: unionMin(a.Tombstones, b.Tombstones),
	}
	win, lose := a.View, b.View
	if compareViews(a.View, b.View) < 0 {
		win, lose = b.View, a.View
	}

	nodes := make([]Node, 0, len(win.Nodes)+len(lose.Nodes))
	for _, n := range win.Nodes {
		if _, dead := out.Tombstones[n.Name]; !dead {
			nodes = append(nodes, n)
		}
	}
	for _, n := range lose.Nodes {
		_, dead := out.Tombstones[n.Name]
		if _, ok := findNode(win.Nodes, n.Name); !ok && !dead {
			nodes = append(nodes, n)
		}
	}
	sortNodes(nodes)

	out.View = View{
		Epoch:    win.Epoch,
		Nodes:    slices.Clone(win.Nodes),
		Previous: slices.Clone(win.Previous),
	}
	if !sameNames(nodes, win.Nodes) {
		out.View = View{
			Epoch:    max(a.View.Epoch, b.View.Epoch) + 1,
			Nodes:    nodes,
			Previous: nextPrevious(win, nodes),
		}
	}
	return out
}

// compareViews orders views by epoch, then settled before migrating, then
// by content. Zero means equal.
func compareViews(a, b View) int {
	if c := cmp.Compare(a.Epoch, b.Epoch); c != 0 {
		return c
	}
	if (a.Previous == nil) != (b.Previous == nil) {
		if a.Previous == nil {
			return 1
		}
		return -1
	}
	if c := compareNodes(a.Nodes, b.Nodes); c != 0 {
		return c
	}
	return compareNodes(a.Previous, b.Previous)
}

func compareNodes(a, b []Node) int {
	return slices.CompareFunc(a, b, func(x, y Node) int {
		if c := cmp.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return cmp.Compare(x.Address, y.Address)
	})
}

// findNode finds name in nodes sorted by name, returning where it is or
// where it would be inserted.
func findNode(nodes []Node, name string) (int, bool) {
	return slices.BinarySearchFunc(nodes, name, func(n Node, name string) int {
		return cmp.Compare(n.Name, name)
	})
}

func sortNodes(nodes []Node) {
	slices.SortFunc(nodes, func(a, b Node) int { return cmp.Compare(a.Name, b.Name) })
}

func sameNames(a, b []Node) bool {
	return slices.EqualFunc(a, b, func(x, y Node) bool { return x.Name == y.Name })
}

func unionMax(a, b map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(a)+len(b))
	for _, m := range []map[string]uint64{a, b} {
		for k, v := range m {
			out[k] = max(out[k], v)
		}
	}
	return out
}

func unionMin(a, b map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(a)+len(b))
	for _, m := range []map[string]uint64{a, b} {
		for k, v := range m {
			if old, ok := out[k]; !ok || v < old {
				out[k] = v
			}
		}
	}
	return out
}
