package ring

import (
	"context"
	"fmt"
	"log/slog"
)

// View returns the current ring view. It never blocks. The slices are
// shared: callers must not modify them.
func (m *Manager) View() View {
	return m.snap.Load().state.View
}

// Self returns this node as a ring node. The address is empty until
// gossip reported it (after Start).
func (m *Manager) Self() Node {
	s := m.snap.Load()
	if i, ok := findNode(s.state.View.Nodes, m.cfg.NodeName); ok {
		return s.state.View.Nodes[i]
	}
	for _, info := range s.members {
		if info.Name == m.cfg.NodeName {
			return Node{Name: info.Name, Address: info.Address}
		}
	}
	return Node{Name: m.cfg.NodeName}
}

// Alive reports whether name may be reached: it is false only for a node
// memberlist declared dead at the last poll. A ring node this node has not
// heard of yet (right after a restart, before gossip caught up) counts as
// reachable: treating it as down would make every activation fail for lack
// of a quorum until the first poll, while a request to a node that is in
// fact down only costs its deadline (quorums never wait for it). This node
// is always alive to itself.
func (m *Manager) Alive(name string) bool {
	snap := m.snap.Load()
	return snap.alive[name] || !snap.dead[name]
}

// Removed reports whether an operator removed this node from the ring.
// Such a node must not serve as a replica; it can only rejoin under a new
// name (a new data directory).
func (m *Manager) Removed() bool {
	return m.snap.Load().state.Removed(m.cfg.NodeName)
}

// Remove takes name out of the ring for good (an operator's decision,
// normally for a node that died and will not return). It returns once the
// change is persisted on this node; gossip spreads it, and the registers
// the node held are re-replicated by the migration that follows.
// Removing a name that was already removed is not an error.
func (m *Manager) Remove(ctx context.Context, name string) error {
	if name == "" {
		return ErrInvalidName
	}
	if !m.started.Load() {
		return ErrNotStarted
	}
	req := removeRequest{name: name, reply: make(chan error, 1)}
	select {
	case m.removes <- req:
	case <-m.stop:
		return ErrStopped
	case <-ctx.Done():
		return fmt.Errorf("remove %q: %w", name, ctx.Err())
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("remove %q: %w", name, ctx.Err())
	}
}

// remove runs on the loop. The new state is persisted before it is
// adopted, so an operator is told "done" only once it is on disk.
func (m *Manager) remove(name string) error {
	next, changed, err := m.state.Remove(name)
	if err != nil || !changed {
		return err
	}
	if err := m.persist(next); err != nil {
		return fmt.Errorf("remove %q: %w", name, err)
	}
	m.log.Warn("node removed from the ring", "peer", name, "epoch", next.View.Epoch)
	m.state, m.dirty = next, false
	return m.publish(nil)
}

// LocalState returns the encoded ring state for memberlist's push/pull.
func (m *Manager) LocalState(join bool) []byte {
	return m.snap.Load().encoded
}

// MergeRemoteState folds a peer's ring state into the pending merge and
// wakes the loop. It never blocks; an unreadable state is dropped.
func (m *Manager) MergeRemoteState(buf []byte, join bool) {
	if len(buf) == 0 {
		return
	}
	st, err := Unmarshal(buf)
	if err != nil {
		m.log.Warn("dropping unreadable ring state from a peer", "bytes", len(buf),
			"err", err)
		return
	}

	m.mu.Lock()
	if m.pending == nil {
		m.pending = &st
	} else {
		merged := Merge(*m.pending, st)
		m.pending = &merged
	}
	m.mu.Unlock()

	select {
	case m.wake <- struct{}{}:
	default:
	}
	m.log.Debug("ring state received", slog.Uint64("epoch", st.View.Epoch),
		slog.Bool("join", join))
}

// takePending returns and clears the pending merge.
func (m *Manager) takePending() (State, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == nil {
		return State{}, false
	}
	st := *m.pending
	m.pending = nil
	return st, true
}
