package cluster

import (
	"encoding/json"
	"log/slog"
	"sort"
	"strconv"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"
)

// watch owns topology pushes: it wakes on memberlist events and on a
// timer, and re-syncs Proto.Actor with memberlist's view until stop.
func (p *Provider) watch() {
	defer p.wg.Done()
	tick := time.NewTicker(resyncEvery)
	defer tick.Stop()

	for {
		p.sync(time.Now())
		select {
		case <-p.stop:
			return
		case <-p.changed:
		case <-tick.C:
		}
	}
}

// sync is one pass of the watch loop.
func (p *Provider) sync(now time.Time) {
	// Snapshot the view under the lock; everything after runs without it
	// because it calls into Proto.Actor and memberlist.
	p.mu.Lock()
	c, client, self := p.cluster, p.client, p.self
	views := make([]nodeView, 0, len(p.nodes))
	for name, v := range p.nodes {
		if !v.alive && now.Sub(v.since) > forgetDeadAfter {
			delete(p.nodes, name)
			continue
		}
		if name == p.cfg.NodeName {
			continue
		}
		views = append(views, *v)
	}
	blockedBy := make(map[string]bool, len(p.blockedBy))
	for name := range p.blockedBy {
		blockedBy[name] = true
	}
	p.mu.Unlock()

	// Tell Proto.Actor which members are alive. A member includes itself;
	// clients, and nodes whose meta has not arrived, are left out.
	members := make([]*protocluster.Member, 0, len(views)+1)
	if !client {
		members = append(members, toMember(self))
	}
	for _, v := range views {
		if v.alive && v.metaErr == nil && !v.meta.Client {
			members = append(members, toMember(v.meta))
		}
	}
	c.MemberList.UpdateClusterTopology(members)

	// Reconcile blocked ids: members tell blocked peers, and everyone
	// checks whether it must exit.
	blocked := c.Remote.BlockList()
	if client {
		for _, v := range views {
			if v.alive && v.metaErr == nil && !v.meta.Client &&
				blocked.IsBlocked(v.meta.MemberID) {
				p.markDead("member " + v.name + " is alive but blocked by this client")
				return
			}
		}
		return
	}
	peers, blockers := 0, 0
	for _, v := range views {
		if !v.alive || v.metaErr != nil || v.meta.Client {
			continue
		}
		peers++
		if blockedBy[v.name] {
			blockers++
		}
		if blocked.IsBlocked(v.meta.MemberID) {
			p.sendNotice(v, now)
		}
	}
	if mustExit(peers, blockers) {
		p.markDead(strconv.Itoa(blockers) + " of " + strconv.Itoa(peers) +
			" live peers blocked this node")
	}
}

// mustExit decides whether a member must restart: more than half of its
// live peers have blocked its id. One peer blocking it is not enough, as
// that peer may be the one that was cut off; in a pair both must go,
// since neither can tell which side failed.
func mustExit(peers, blockers int) bool {
	return peers > 0 && 2*blockers > peers
}

// sendNotice tells peer v that this node blocked its member id, at most
// once per noticeEvery.
func (p *Provider) sendNotice(v nodeView, now time.Time) {
	key := v.name + "/" + v.meta.MemberID
	p.mu.Lock()
	last, ok := p.noticed[key]
	if ok && now.Sub(last) < noticeEvery {
		p.mu.Unlock()
		return
	}
	p.noticed[key] = now
	p.mu.Unlock()

	msg, _ := json.Marshal(blockNotice{
		Kind:     noticeKindBlocked,
		MemberID: v.meta.MemberID,
		From:     p.cfg.NodeName,
	})
	node := v.node
	if err := p.ml.SendReliable(&node, msg); err != nil {
		p.logger.Warn("tell peer it is blocked",
			slog.String("peer", v.name), slog.Any("error", err))
		return
	}
	p.logger.Info("told peer its member id is blocked here",
		slog.String("peer", v.name), slog.String("member_id", v.meta.MemberID))
}

func toMember(m nodeMeta) *protocluster.Member {
	return &protocluster.Member{
		Id:    m.MemberID,
		Host:  m.Host,
		Port:  int32(m.Port),
		Kinds: append([]string(nil), m.Kinds...),
	}
}

// join contacts the seeds once and, if none answered, keeps trying in the
// background with growing pauses until one does or the provider stops.
func (p *Provider) join() {
	seeds := make([]string, 0, len(p.cfg.Seeds))
	for _, s := range p.cfg.Seeds {
		if s != p.gossipAddr {
			seeds = append(seeds, s)
		}
	}
	if len(seeds) == 0 {
		if len(p.cfg.Seeds) > 0 {
			// Our own address was the only seed: we are the first node.
			p.setJoined()
		}
		return
	}
	if p.tryJoin(seeds) {
		return
	}

	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		pause := joinRetryMin
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(pause):
			}
			if p.Joined() || p.tryJoin(seeds) {
				return
			}
			pause = min(2*pause, joinRetryMax)
		}
	}()
}

func (p *Provider) tryJoin(seeds []string) bool {
	n, err := p.ml.Join(seeds)
	if err != nil || n == 0 {
		p.logger.Warn("join seeds", slog.Any("seeds", seeds), slog.Any("error", err))
		return false
	}
	p.setJoined()
	p.logger.Info("joined cluster", slog.Int("seeds_reached", n))
	return true
}

func (p *Provider) setJoined() {
	p.mu.Lock()
	p.joined = true
	p.mu.Unlock()
}

// MemberState is a node's liveness as this node's memberlist sees it.
type MemberState string

const (
	MemberAlive MemberState = "alive"
	// MemberSuspect is not reported yet; see the TODO on Members.
	MemberSuspect MemberState = "suspect"
	// MemberDead covers nodes that failed and nodes that left.
	MemberDead MemberState = "dead"
)

// MemberInfo describes one node or client known to gossip.
type MemberInfo struct {
	// Name is the memberlist node name.
	Name string
	// GossipAddr is the node's memberlist address.
	GossipAddr string
	// MemberID is the Proto.Actor member id; "" until the node started
	// its actor system.
	MemberID string
	// Address is the host:port of the node's Proto.Actor remote.
	Address string
	Kinds   []string
	Client  bool
	State   MemberState
}

// Members lists every node this node knows, itself included, sorted by
// name. Dead nodes are kept for a while so operators can see them.
//
// TODO: report MemberSuspect. memberlist exposes no suspicion callback
// and its Members() does not carry the node state, so suspects show as
// alive until they are declared dead.
func (p *Provider) Members() []MemberInfo {
	p.mu.Lock()
	defer p.mu.Unlock()

	out := make([]MemberInfo, 0, len(p.nodes))
	for name, v := range p.nodes {
		info := MemberInfo{Name: name, GossipAddr: v.node.Address(), State: MemberDead}
		if v.alive {
			info.State = MemberAlive
		}
		m := v.meta
		if name == p.cfg.NodeName && p.started {
			m = p.self
		} else if v.metaErr != nil {
			out = append(out, info)
			continue
		}
		info.MemberID = m.MemberID
		info.Address = m.Host + ":" + strconv.Itoa(m.Port)
		info.Kinds = append([]string(nil), m.Kinds...)
		info.Client = m.Client
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
