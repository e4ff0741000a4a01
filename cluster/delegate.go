package cluster

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/hashicorp/memberlist"
)

// delegate receives memberlist's callbacks. Memberlist calls the event
// methods while holding its node lock, so they only copy what they are
// given into the provider and wake the watch goroutine.
type delegate struct {
	p *Provider
}

var (
	_ memberlist.Delegate         = (*delegate)(nil)
	_ memberlist.EventDelegate    = (*delegate)(nil)
	_ memberlist.ConflictDelegate = (*delegate)(nil)
)

// NodeMeta returns this node's meta; it is empty before start, which
// peers read as "not ready yet".
func (d *delegate) NodeMeta(limit int) []byte {
	d.p.mu.Lock()
	defer d.p.mu.Unlock()
	if len(d.p.meta) > limit {
		// encodeMeta checked against memberlist's limit already; a smaller
		// limit would be a memberlist change, and empty meta is safe.
		return nil
	}
	return d.p.meta
}

// blockNotice tells a node that the sender has blocked its member id.
// It names the sender by member id, so a notice from an earlier process
// under the same node name stops counting once that process is gone.
type blockNotice struct {
	Kind     string `json:"kind"`
	MemberID string `json:"id"`
	From     string `json:"from"`
	FromID   string `json:"from_id"`
}

const noticeKindBlocked = "blocked"

// NotifyMsg receives block notices sent by peers.
func (d *delegate) NotifyMsg(b []byte) {
	var n blockNotice
	if err := json.Unmarshal(b, &n); err != nil || n.Kind != noticeKindBlocked {
		d.p.logger.Warn("ignoring unknown gossip message", slog.Int("bytes", len(b)))
		return
	}

	d.p.mu.Lock()
	mine := n.MemberID == d.p.self.MemberID && n.MemberID != ""
	if mine {
		d.p.blockedBy[n.FromID] = true
	}
	d.p.mu.Unlock()

	if mine {
		d.p.logger.Warn("a peer has blocked this node's member id",
			slog.String("peer", n.From))
		d.p.signal()
	}
}

// GetBroadcasts: the provider gossips nothing beyond node meta.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return nil
}

func (d *delegate) LocalState(join bool) []byte {
	if d.p.cfg.State == nil {
		return nil
	}
	return d.p.cfg.State.LocalState(join)
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	if d.p.cfg.State == nil {
		return
	}
	d.p.cfg.State.MergeRemoteState(buf, join)
}

func (d *delegate) NotifyJoin(n *memberlist.Node) {
	d.record(n, true)
}

func (d *delegate) NotifyUpdate(n *memberlist.Node) {
	d.record(n, true)
}

func (d *delegate) NotifyLeave(n *memberlist.Node) {
	d.record(n, false)
}

// NotifyConflict reports two nodes using one name, which means two
// nodes were started on the same data directory name.
func (d *delegate) NotifyConflict(existing, other *memberlist.Node) {
	d.p.logger.Error("two nodes share one node name",
		slog.String("name", existing.Name),
		slog.String("existing", existing.Address()),
		slog.String("other", other.Address()))
}

// record copies n into the provider's view and wakes the watch goroutine.
func (d *delegate) record(n *memberlist.Node, alive bool) {
	v := &nodeView{
		name:  n.Name,
		node:  copyNode(n),
		alive: alive,
		since: time.Now(),
	}
	v.meta, v.metaErr = decodeMeta(v.node.Meta)

	p := d.p
	p.mu.Lock()
	p.nodes[n.Name] = v
	if alive && n.Name != p.cfg.NodeName {
		p.joined = true
	}
	p.mu.Unlock()

	if alive && v.metaErr != nil && len(v.node.Meta) > 0 {
		p.logger.Warn("peer meta unreadable; leaving it out",
			slog.String("peer", n.Name), slog.Any("error", v.metaErr))
	}
	p.logger.Debug("gossip member changed",
		slog.String("peer", n.Name), slog.Bool("alive", alive))
	p.signal()
	if !alive {
		// Re-sync when the grace ends, so the node leaves the topology
		// then rather than at the next periodic sync.
		time.AfterFunc(deadGrace+10*time.Millisecond, p.signal)
	}
}

// copyNode deep-copies the parts of n the provider keeps.
func copyNode(n *memberlist.Node) memberlist.Node {
	c := memberlist.Node{
		Name: n.Name,
		Addr: append([]byte(nil), n.Addr...),
		Port: n.Port,
		Meta: append([]byte(nil), n.Meta...),
	}
	return c
}
