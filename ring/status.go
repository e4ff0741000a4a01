package ring

import (
	"context"
	"slices"

	"github.com/herald-im/herald/cluster"
)

// Member states in a Status. Suspect is reported when memberlist exposes
// it (see cluster.MemberSuspect); a ring node gossip does not know at all
// is reported dead.
const (
	StateAlive   = string(cluster.MemberAlive)
	StateSuspect = string(cluster.MemberSuspect)
	StateDead    = string(cluster.MemberDead)
)

// Status is the operator's view of the cluster from this node, as served
// by GET /admin/cluster.
type Status struct {
	// Self is this node's name; Removed says an operator removed it.
	Self    string `json:"self"`
	Removed bool   `json:"removed"`
	// Epoch and Stable describe the ring: Stable is false while a
	// migration runs, and Previous then lists the node set before it.
	Epoch    uint64 `json:"epoch"`
	Stable   bool   `json:"stable"`
	Previous []Node `json:"previous"`
	// Ring lists the ring's nodes, sorted by name.
	Ring []MemberStatus `json:"ring"`
	// Members lists every node gossip knows and every ring node, sorted
	// by name; clients are left out.
	Members []MemberStatus `json:"members"`
	// Tombstones lists the removed names with the epoch of removal.
	Tombstones map[string]uint64 `json:"tombstones"`
}

// MemberStatus is one node in a Status.
type MemberStatus struct {
	Name string `json:"name"`
	// Address is the Proto.Actor remote address, GossipAddr memberlist's.
	Address    string `json:"address"`
	GossipAddr string `json:"gossip_addr,omitempty"`
	// State is alive, suspect or dead.
	State  string `json:"state"`
	InRing bool   `json:"in_ring"`
	// Removed: an operator removed this name.
	Removed bool `json:"removed"`
	// Done: the node finished copying for the current epoch.
	Done bool `json:"done"`
	// Health is what the node's /readyz says ("ready" or what is
	// missing), "dead" for a dead node; empty until ProbeHealth.
	Health string `json:"health,omitempty"`
}

// Status describes the cluster as this node sees it. It never blocks.
func (m *Manager) Status() Status {
	s := m.snap.Load()
	st := s.state
	out := Status{
		Self:       m.cfg.NodeName,
		Removed:    st.Removed(m.cfg.NodeName),
		Epoch:      st.View.Epoch,
		Stable:     st.View.Previous == nil,
		Previous:   slices.Clone(st.View.Previous),
		Tombstones: map[string]uint64{},
	}
	for name, epoch := range st.Tombstones {
		out.Tombstones[name] = epoch
	}

	byName := map[string]*MemberStatus{}
	for _, info := range s.members {
		if info.Client {
			continue
		}
		ms := &MemberStatus{Name: info.Name, Address: info.Address,
			GossipAddr: info.GossipAddr, State: string(info.State)}
		byName[info.Name] = ms
	}
	for _, n := range st.View.Nodes {
		ms, ok := byName[n.Name]
		if !ok {
			ms = &MemberStatus{Name: n.Name, Address: n.Address, State: StateDead}
			byName[n.Name] = ms
		}
		ms.InRing = true
	}
	for name, ms := range byName {
		ms.Removed = st.Removed(name)
		ms.Done = st.DoneFor(name)
		if name == m.cfg.NodeName {
			ms.State = StateAlive
		}
	}

	for _, ms := range byName {
		out.Members = append(out.Members, *ms)
		if ms.InRing {
			out.Ring = append(out.Ring, *ms)
		}
	}
	byNameOrder := func(a, b MemberStatus) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	}
	slices.SortFunc(out.Members, byNameOrder)
	slices.SortFunc(out.Ring, byNameOrder)
	return out
}

// HealthProbe asks one live node what its /readyz says: "ready", or what
// it misses. It must return by ctx's deadline; "" counts as unreachable.
type HealthProbe func(ctx context.Context, m MemberStatus) string

// Unreachable is the Health of a live node the probe got no answer from.
const Unreachable = "unreachable"

// ProbeHealth fills Health for every member, probing the live ones
// concurrently and waiting at most until ctx is done. Dead nodes are not
// probed.
func (s *Status) ProbeHealth(ctx context.Context, probe HealthProbe) {
	type answer struct {
		i      int
		health string
	}
	answers := make(chan answer, len(s.Members)) // never blocks a probe
	health := make([]string, len(s.Members))
	waiting := 0
	for i, ms := range s.Members {
		if ms.State == StateDead {
			health[i] = StateDead
			continue
		}
		waiting++
		go func() { answers <- answer{i, probe(ctx, ms)} }()
	}

	// A probe that overruns ctx is left behind and counts as unreachable.
collect:
	for ; waiting > 0; waiting-- {
		select {
		case a := <-answers:
			health[a.i] = a.health
		case <-ctx.Done():
			break collect
		}
	}
	for drained := false; !drained; {
		select {
		case a := <-answers:
			health[a.i] = a.health
		default:
			drained = true
		}
	}

	byName := map[string]string{}
	for i := range s.Members {
		if health[i] == "" {
			health[i] = Unreachable
		}
		s.Members[i].Health = health[i]
		byName[s.Members[i].Name] = health[i]
	}
	for i := range s.Ring {
		s.Ring[i].Health = byName[s.Ring[i].Name]
	}
}
