package app

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/herald-im/herald/messages"
)

// Cross-node propagation of app changes. The app grain runs on one node,
// but every node pushes for the app and reads its notifiers and settings
// from its own cache. After each change the grain's node sends the new
// record to a small listener actor on every other member, which keeps it
// when it is newer than what that node holds. The record travels whole,
// so receivers need no reload and a lost or reordered message can never
// put an older record back.
//
// TODO: a node that is down or partitioned when a change is sent keeps
// its old record until the entry is reloaded; nothing expires cached
// records yet. A periodic comparison of modified times with the grain
// would close that gap.

// ListenerName is the actor id of the listener every node runs.
const ListenerName = "herald-apps"

// Listen starts this node's listener and follows the cluster topology to
// know where to send changes. Call it once, after SetCluster and before
// the cluster starts.
func (c *Cache) Listen() error {
	system := c.cluster.ActorSystem
	system.EventStream.Subscribe(func(ev any) {
		tp, ok := ev.(*cluster.ClusterTopology)
		if !ok {
			return
		}
		peers := make([]string, 0, len(tp.Members))
		for _, m := range tp.Members {
			if m.Id != system.ID {
				peers = append(peers, m.Address())
			}
		}
		c.peers.Store(&peers)
	})
	_, err := system.Root.SpawnNamed(actor.PropsFromFunc(c.receive), ListenerName)
	if err != nil {
		return fmt.Errorf("spawn %s: %w", ListenerName, err)
	}
	return nil
}

// receive takes a record sent by another node's grain.
func (c *Cache) receive(ctx actor.Context) {
	rec, ok := ctx.Message().(*messages.AppRecord)
	if !ok || rec.Org == "" || rec.Name == "" {
		return
	}
	c.store(rec.Org+"#"+rec.Name, rec)
}

// broadcast sends rec to the listeners of the other members, without
// waiting: delivery is best effort (see the TODO above).
func (c *Cache) broadcast(rec *messages.AppRecord) {
	if c.cluster == nil {
		return
	}
	p := c.peers.Load()
	if p == nil {
		return
	}
	for _, addr := range *p {
		c.cluster.ActorSystem.Root.Send(actor.NewPID(addr, ListenerName), rec)
	}
}
