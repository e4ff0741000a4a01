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

// sync is one pass of the watch loop: it pushes memberlist's view to
// Proto.Actor, then settles blocked member ids.
func (p *Provider) sync(now time.Time) {
	c, client, self, views, blockedBy := p.snapshot(now)
	p.pushTopology(c, client, self, views, now)
	if client {
		p.checkClientBlocks(c, views)
		return
	}
	p.checkMemberBlocks(c, views, blockedBy, now)
}

// snapshot copies what sync needs under the lock, and forgets nodes that
// have been dead for long. Everything after runs without the lock
// because it calls into Proto.Actor and memberlist.
func (p *Provider) snapshot(now time.Time) (c *protocluster.Cluster, client bool,
	self nodeMeta, views []nodeView, blockedBy map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	views = make([]nodeView, 0, len(p.nodes))
	for name, v := range p.nodes {
		if !v.alive && now.Sub(v.since) > forgetDeadAfter {
			delete(p.nodes, name)
			continue
		}
		if name != p.cfg.NodeName {
			views = append(views, *v)
		}
	}
	for key, at := range p.noticed {
		if now.Sub(at) > forgetDeadAfter {
			delete(p.noticed, key)
		}
	}
	blockedBy = make(map[string]bool, len(p.blockedBy))
	for id := range p.blockedBy {
		blockedBy[id] = true
	}
	return p.cluster, p.client, p.self, views, blockedBy
}

// pushTopology tells Proto.Actor which members are alive. A member
// includes itself; clients, and nodes whose meta has not arrived, are
// left out; nodes declared dead stay until their grace has passed.
func (p *Provider) pushTopology(c *protocluster.Cluster, client bool, self nodeMeta,
	views []nodeView, now time.Time) {
	members := make([]*protocluster.Member, 0, len(views)+1)
	if !client {
		members = append(members, toMember(self))
	}
	for _, v := range views {
		held := v.alive || now.Sub(v.since) < deadGrace
		if held && v.metaErr == nil && !v.meta.Client {
			members = append(members, toMember(v.meta))
		}
	}
	c.MemberList.UpdateClusterTopology(members)
}

// checkClientBlocks closes Dead when this client has blocked a member
// that memberlist says is alive: the client can no longer reach it, and
// its placement disagrees with the members'.
func (p *Provider) checkClientBlocks(c *protocluster.Cluster, views []nodeView) {
	blocked := c.Remote.BlockList()
	for _, v := range views {
		if isLiveMember(v) && blocked.IsBlocked(v.meta.MemberID) {
			p.markDead("member " + v.name + " is alive but blocked by this client")
			return
		}
	}
}

// checkMemberBlocks tells each live peer whose id this member blocked,
// and closes Dead when most live peers told us the same.
func (p *Provider) checkMemberBlocks(c *protocluster.Cluster, views []nodeView,
	blockedBy map[string]bool, now time.Time) {
	blocked := c.Remote.BlockList()
	peers, blockers := 0, 0
	for _, v := range views {
		if !isLiveMember(v) {
			continue
		}
		peers++
		if blockedBy[v.meta.MemberID] {
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

// isLiveMember: alive in memberlist, with readable meta, not a client.
func isLiveMember(v nodeView) bool {
	return v.alive && v.metaErr == nil && !v.meta.Client
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

	p.mu.Lock()
	fromID := p.self.MemberID
	p.mu.Unlock()
	msg, _ := json.Marshal(blockNotice{
		Kind:     noticeKindBlocked,
		MemberID: v.meta.MemberID,
		From:     p.cfg.NodeName,
		FromID:   fromID,
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

	p.spawn(func() {
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
	})
}

// rejoin runs until stop and, every rejoinEvery, contacts the seeds that
// are not among the live nodes. memberlist only gossips to dead nodes for
// a short while, so after a long partition the two sides would otherwise
// never meet again; when they do, block notices settle who restarts.
func (p *Provider) rejoin() {
	tick := time.NewTicker(rejoinEvery)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		if missing := p.missingSeeds(); len(missing) > 0 {
			p.tryJoin(missing)
		}
	}
}

// missingSeeds lists the seeds that are not the address of a live node.
// A seed given as a host name never matches and is simply contacted
// again, which costs one state exchange.
func (p *Provider) missingSeeds() []string {
	p.mu.Lock()
	live := make(map[string]bool, len(p.nodes))
	for _, v := range p.nodes {
		if v.alive {
			live[v.node.Address()] = true
		}
	}
	p.mu.Unlock()

	var missing []string
	for _, s := range p.cfg.Seeds {
		if s != p.gossipAddr && !live[s] {
			missing = append(missing, s)
		}
	}
	return missing
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
	// HTTPAddr is the node's REST address, "" when it published none.
	HTTPAddr string
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
		info.HTTPAddr = m.HTTP
		info.Kinds = append([]string(nil), m.Kinds...)
		info.Client = m.Client
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
