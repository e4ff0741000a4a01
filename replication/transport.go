package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
	"github.com/herald-im/herald/ring"
)

// ErrNodeDown means membership reports the node dead, so it was not asked.
var ErrNodeDown = errors.New("replica node is down")

// ErrNoDeadline means a request was made without a deadline; every remote
// request carries its caller's deadline.
var ErrNoDeadline = errors.New("request has no deadline")

// peers calls the register acceptors of ring nodes: this node's store
// directly, every other node through its "herald-register" actor.
type peers struct {
	system *actor.ActorSystem
	store  *persistence.Store
	ring   RingSource
	self   string // this node's name; a node's name never changes
}

func (p *peers) local(node ring.Node) bool {
	return node.Name == p.self
}

// request sends msg to node's acceptor and waits for the reply until the
// context's deadline. A dead node is not asked. The caller runs this on
// its own goroutine per node, so waiting here never delays the others.
//
// A request is sent even if ctx was canceled meanwhile: a round returns
// (and cancels) as soon as a quorum answered, and its Accept must still
// reach the slower replicas, or they would lag until anti-entropy. Only
// the deadline, which the acceptor also honours, stops it.
func (p *peers) request(ctx context.Context, node ring.Node, msg proto.Message) (any, error) {
	if !p.ring.Alive(node.Name) {
		return nil, fmt.Errorf("node %s: %w", node.Name, ErrNodeDown)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, ErrNoDeadline
	}
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return nil, fmt.Errorf("node %s: %w", node.Name, context.DeadlineExceeded)
	}
	pid := actor.NewPID(node.Address, ActorName)
	reply, err := p.system.Root.RequestFuture(pid, msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	return reply, nil
}

// replyError turns an error carried in a reply into a Go error.
func replyError(node ring.Node, e *messages.Error) error {
	return fmt.Errorf("node %s: %s: %s", node.Name, e.Code, e.Description)
}

func unexpected(node ring.Node, reply any) error {
	return fmt.Errorf("node %s: unexpected reply %T", node.Name, reply)
}

func (p *peers) prepare(ctx context.Context, node ring.Node, key string,
	b persistence.Ballot) (persistence.Promise, error) {
	if p.local(node) {
		return p.store.Prepare(key, b)
	}
	deadline, _ := ctx.Deadline()
	reply, err := p.request(ctx, node, &messages.RegPrepare{
		Key: key, Ballot: toWireBallot(b), DeadlineUnixMs: deadlineMillis(deadline),
	})
	if err != nil {
		return persistence.Promise{}, err
	}
	m, ok := reply.(*messages.RegPromise)
	if !ok {
		return persistence.Promise{}, unexpected(node, reply)
	}
	if m.Error != nil {
		return persistence.Promise{}, replyError(node, m.Error)
	}
	accepted := fromWireBallot(m.Accepted)
	promise := persistence.Promise{
		OK:       m.Ok,
		Promised: fromWireBallot(m.Promised),
		Accepted: accepted,
		Seq:      m.Seq,
	}
	if m.Ok {
		promise.Value = wireValue(accepted, m.Value)
	}
	return promise, nil
}

// acceptReply is one acceptor's answer to Accept.
type acceptReply struct {
	ok       bool
	promised persistence.Ballot
}

func (p *peers) accept(ctx context.Context, node ring.Node, key string,
	b persistence.Ballot, seq uint64, value []byte) (acceptReply, error) {
	if p.local(node) {
		ok, promised, err := p.store.Accept(key, b, seq, value)
		return acceptReply{ok: ok, promised: promised}, err
	}
	deadline, _ := ctx.Deadline()
	reply, err := p.request(ctx, node, &messages.RegAccept{
		Key: key, Ballot: toWireBallot(b), Seq: seq, Value: value,
		DeadlineUnixMs: deadlineMillis(deadline),
	})
	if err != nil {
		return acceptReply{}, err
	}
	m, ok := reply.(*messages.RegAccepted)
	if !ok {
		return acceptReply{}, unexpected(node, reply)
	}
	if m.Error != nil {
		return acceptReply{}, replyError(node, m.Error)
	}
	return acceptReply{ok: m.Ok, promised: fromWireBallot(m.Promised)}, nil
}

func (p *peers) learn(ctx context.Context, node ring.Node, key string,
	v persistence.Version, value []byte) (bool, error) {
	if p.local(node) {
		return p.store.Learn(key, v.Ballot, v.Seq, value)
	}
	deadline, _ := ctx.Deadline()
	reply, err := p.request(ctx, node, &messages.RegLearn{
		Key: key, Ballot: toWireBallot(v.Ballot), Seq: v.Seq, Value: value,
		DeadlineUnixMs: deadlineMillis(deadline),
	})
	if err != nil {
		return false, err
	}
	m, ok := reply.(*messages.RegLearned)
	if !ok {
		return false, unexpected(node, reply)
	}
	if m.Error != nil {
		return false, replyError(node, m.Error)
	}
	return m.Taken, nil
}

func (p *peers) versions(ctx context.Context, node ring.Node,
	keys []string) ([]persistence.Version, error) {
	if p.local(node) {
		return p.store.Versions(keys)
	}
	deadline, _ := ctx.Deadline()
	reply, err := p.request(ctx, node, &messages.RegVersions{
		Keys: keys, DeadlineUnixMs: deadlineMillis(deadline),
	})
	if err != nil {
		return nil, err
	}
	m, ok := reply.(*messages.RegVersionList)
	if !ok {
		return nil, unexpected(node, reply)
	}
	if m.Error != nil {
		return nil, replyError(node, m.Error)
	}
	if len(m.Versions) != len(keys) {
		return nil, fmt.Errorf("node %s: %d versions for %d keys",
			node.Name, len(m.Versions), len(keys))
	}
	out := make([]persistence.Version, len(keys))
	for i, v := range m.Versions {
		if v.Key != keys[i] {
			return nil, fmt.Errorf("node %s: version %d is for %q, want %q",
				node.Name, i, v.Key, keys[i])
		}
		out[i] = persistence.Version{Ballot: fromWireBallot(v.Ballot), Seq: v.Seq}
	}
	return out, nil
}

// putSoft sends a batch of soft state without waiting; a dead node is
// skipped.
func (p *peers) putSoft(node ring.Node, batch *messages.RegPutSoft) bool {
	if !p.ring.Alive(node.Name) {
		return false
	}
	p.system.Root.Send(actor.NewPID(node.Address, ActorName), batch)
	return true
}
