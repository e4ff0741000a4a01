package ring

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
)

// ErrBadState wraps every problem found in an encoded ring state, whether
// read from disk or received from a peer.
var ErrBadState = errors.New("ring: bad encoded state")

// maxStateBytes bounds a state accepted from a peer; a ring of a thousand
// nodes encodes well below it.
const maxStateBytes = 1 << 20

// Marshal encodes s as a messages.RingState, deterministically: equal
// states give equal bytes.
func (s State) Marshal() ([]byte, error) {
	pb := &messages.RingState{
		View: &messages.RingView{
			Epoch:    s.View.Epoch,
			Nodes:    nodesToProto(s.View.Nodes),
			Previous: nodesToProto(s.View.Previous),
		},
	}
	for _, name := range sortedKeys(s.Done) {
		pb.Done = append(pb.Done, &messages.RingDone{Name: name, Epoch: s.Done[name]})
	}
	for _, name := range sortedKeys(s.Tombstones) {
		pb.Tombstones = append(pb.Tombstones,
			&messages.RingTombstone{Name: name, Epoch: s.Tombstones[name]})
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("encode ring state: %w", err)
	}
	return b, nil
}

// Unmarshal decodes and checks a state written by Marshal. Nodes must be
// sorted by name without duplicates and carry names, and no tombstoned
// name may be in the ring.
func Unmarshal(b []byte) (State, error) {
	if len(b) > maxStateBytes {
		return State{}, fmt.Errorf("%w: %d bytes, max %d", ErrBadState, len(b), maxStateBytes)
	}
	var pb messages.RingState
	if err := proto.Unmarshal(b, &pb); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrBadState, err)
	}

	s := State{
		View: View{
			Epoch:    pb.GetView().GetEpoch(),
			Nodes:    nodesFromProto(pb.GetView().GetNodes()),
			Previous: nodesFromProto(pb.GetView().GetPrevious()),
		},
		Done:       map[string]uint64{},
		Tombstones: map[string]uint64{},
	}
	for _, d := range pb.GetDone() {
		if d.GetName() == "" {
			return State{}, fmt.Errorf("%w: done: empty name", ErrBadState)
		}
		s.Done[d.GetName()] = max(s.Done[d.GetName()], d.GetEpoch())
	}
	for _, t := range pb.GetTombstones() {
		if t.GetName() == "" {
			return State{}, fmt.Errorf("%w: tombstones: empty name", ErrBadState)
		}
		s.Tombstones[t.GetName()] = t.GetEpoch()
	}
	if err := s.check(); err != nil {
		return State{}, err
	}
	return s, nil
}

// check verifies the invariants documented on State.
func (s State) check() error {
	for field, set := range map[string][]Node{"nodes": s.View.Nodes,
		"previous": s.View.Previous} {
		for i, n := range set {
			if n.Name == "" {
				return fmt.Errorf("%w: %s[%d]: empty name", ErrBadState, field, i)
			}
			if i > 0 && set[i-1].Name >= n.Name {
				return fmt.Errorf("%w: %s: not sorted by name at %q", ErrBadState, field, n.Name)
			}
		}
	}
	for _, n := range s.View.Nodes {
		if s.Removed(n.Name) {
			return fmt.Errorf("%w: nodes: %q is tombstoned", ErrBadState, n.Name)
		}
	}
	return nil
}

// nodesToProto converts nodes; nil stays nil, so a stable view has no
// Previous on the wire.
func nodesToProto(nodes []Node) []*messages.RingNode {
	if nodes == nil {
		return nil
	}
	out := make([]*messages.RingNode, len(nodes))
	for i, n := range nodes {
		out[i] = &messages.RingNode{Name: n.Name, Address: n.Address}
	}
	return out
}

// nodesFromProto converts nodes; an empty list reads as nil (stable).
func nodesFromProto(nodes []*messages.RingNode) []Node {
	if len(nodes) == 0 {
		return nil
	}
	out := make([]Node, len(nodes))
	for i, n := range nodes {
		out[i] = Node{Name: n.GetName(), Address: n.GetAddress()}
	}
	return out
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	return keys
}
