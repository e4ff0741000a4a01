package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/actors/app"
	"github.com/herald-im/herald/actors/fanout"
	"github.com/herald-im/herald/actors/user"
	"github.com/herald-im/herald/api"
	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/ring"
	"github.com/herald-im/herald/stats"
)

// backend is the REST layer's view of the node: every call becomes a
// request to a grain or to the ingest actor.
type backend struct {
	n *Node
	// stats answers statistics queries; nil until the node starts one.
	stats *stats.Recorder
}

var _ api.Backend = (*backend)(nil)

func (b *backend) CreateApp(ctx context.Context, org, name string) (*messages.AppReply, error) {
	reply, err := b.n.apps.Request(ctx, org+"#"+name, &messages.CreateApp{Org: org, Name: name})
	if err != nil {
		return nil, err
	}
	ar, ok := reply.(*messages.AppReply)
	if !ok {
		return nil, fmt.Errorf("create app: unexpected reply %T", reply)
	}
	return ar, nil
}

func (b *backend) App(ctx context.Context, appKey string) (*messages.AppRecord, error) {
	rec, err := b.n.apps.Get(ctx, appKey)
	if errors.Is(err, app.ErrNotFound) {
		return nil, api.ErrAppNotFound
	}
	return rec, err
}

func (b *backend) AppRequest(ctx context.Context, appKey string, req proto.Message) (proto.Message, error) {
	reply, err := b.n.apps.Request(ctx, appKey, req)
	if err != nil {
		return nil, transient(err)
	}
	return asProto(reply)
}

func (b *backend) UserRequest(ctx context.Context, appKey, u string,
	req proto.Message) (proto.Message, error) {
	// The grain call gives up at the caller's deadline (10 s without one).
	ctx, cancel := context.WithTimeout(ctx, timeoutFrom(ctx, 10*time.Second))
	defer cancel()
	reply, err := membership.Request(ctx, b.n.cluster, user.Identity(appKey, u), user.Kind, req)
	if err != nil {
		return nil, fmt.Errorf("request user %q: %w", u, transient(err))
	}
	return asProto(reply)
}

// Push hands the message to the local ingest actor and waits for its
// answer, which comes at the latest when ctx's deadline is near.
func (b *backend) Push(ctx context.Context, m *messages.PushMessage) (*messages.PushResult, error) {
	wait := timeoutFrom(ctx, b.n.opts.PushWait)
	// The fan-out answers a little before the caller gives up, so a slow
	// push is reported as pending rather than as a transport failure.
	answerBy := wait - wait/10
	f := b.n.system.Root.RequestFuture(b.n.ingest, &fanout.Submit{Message: m, Wait: answerBy}, wait)
	reply, err := f.Result()
	if err != nil {
		return nil, fmt.Errorf("push %q: %w", m.MsgId, err)
	}
	res, ok := reply.(*messages.PushResult)
	if !ok {
		return nil, fmt.Errorf("push %q: unexpected reply %T", m.MsgId, reply)
	}
	return res, nil
}

// Statistics answers from this node's counters.
//
// TODO: only this node's counters are read; with several nodes the query
// must ask every node and add their reports (DESIGN.md, "merged on read").
func (b *backend) Statistics(_ context.Context, appKey, begin, end, platform string,
	loc *time.Location) (stats.Report, error) {
	if b.stats == nil {
		return nil, errors.New("statistics recorder not started")
	}
	return b.stats.Query(appKey, begin, end, platform, loc)
}

func (b *backend) Ready() string {
	if !b.n.members.Joined() {
		return "cluster not joined"
	}
	return ""
}

// timeoutFrom is what is left of ctx's deadline, or def when it has none.
func timeoutFrom(ctx context.Context, def time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return def
}

func asProto(reply any) (proto.Message, error) {
	m, ok := reply.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("unexpected reply %T", reply)
	}
	return m, nil
}

// ClusterStatus answers GET /admin/cluster: members, the ring and each
// node's health as its /readyz says.
func (b *backend) ClusterStatus(ctx context.Context) (any, error) {
	st := b.n.ring.Status()
	restAddr := map[string]string{}
	for _, m := range b.n.members.Members() {
		restAddr[m.Name] = m.HTTPAddr
	}
	remote := ring.HTTPProbe(&http.Client{Timeout: 2 * time.Second},
		func(m ring.MemberStatus) string {
			if a := restAddr[m.Name]; a != "" {
				return "http://" + a
			}
			return ""
		})
	st.ProbeHealth(ctx, func(ctx context.Context, m ring.MemberStatus) string {
		if m.Name != st.Self {
			return remote(ctx, m)
		}
		if missing := b.Ready(); missing != "" {
			return missing
		}
		return "ready"
	})
	return st, nil
}

// RemoveNode answers DELETE /admin/cluster/nodes/{name}: the node leaves
// the ring for good and its registers are copied to the others.
func (b *backend) RemoveNode(ctx context.Context, name string) error {
	return b.n.ring.Remove(ctx, name)
}
