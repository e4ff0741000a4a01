package fanout

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/herald-im/herald/actors/app"
	"github.com/herald-im/herald/actors/user"
	"github.com/herald-im/herald/messages"
)

// IngestName is the actor id of the ingest actor on every node. IM core
// clients send *messages.PushMessage to it and get *messages.PushResult.
const IngestName = "herald-ingest"

// Deps are what the ingest and fan-out actors of a node share.
type Deps struct {
	Cluster *cluster.Cluster
	Apps    *app.Cache
	Logger  *slog.Logger
	Now     func() time.Time
	// DefaultWait is how long a client's push waits for final outcomes
	// before it is answered with the rest counted as pending.
	DefaultWait time.Duration
	// Linger is how long a fan-out keeps collecting outcomes after it
	// answered, so late outcomes are counted instead of dead-lettered.
	Linger time.Duration
	// RequestTimeout bounds one grain request (lookup included).
	RequestTimeout time.Duration
	// Names is the node's display-name cache; nil asks the sender's
	// grain for every message.
	Names *user.Names
	// Dispatcher runs the ingest and fan-out mailboxes; nil means
	// Proto.Actor's default.
	Dispatcher actor.Dispatcher
}

// Submit is the local form of a push: the REST layer sends it with its own
// deadline. Remote clients send a bare *messages.PushMessage.
type Submit struct {
	Message *messages.PushMessage
	Wait    time.Duration
}

// SpawnIngest starts this node's ingest actor.
func SpawnIngest(system *actor.ActorSystem, d Deps) (*actor.PID, error) {
	if d.DefaultWait <= 0 {
		d.DefaultWait = 30 * time.Second
	}
	if d.Linger <= 0 {
		d.Linger = 2 * time.Minute
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 5 * time.Second
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &ingest{deps: d} },
		d.props()...)
	return system.Root.SpawnNamed(props, IngestName)
}

type ingest struct {
	deps Deps
}

func (in *ingest) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.PushMessage:
		in.accept(ctx, m, in.deps.DefaultWait)
	case *Submit:
		in.accept(ctx, m.Message, m.Wait)
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		if ctx.Sender() != nil {
			ctx.Respond(&messages.PushResult{Error: &messages.Error{
				Code: "illegal_argument", Field: "message",
				Description: "the ingest actor takes PushMessage only"}})
		}
	}
}

// accept validates m and hands it to a new fan-out actor, which answers
// the sender itself.
func (in *ingest) accept(ctx actor.Context, m *messages.PushMessage, wait time.Duration) {
	if m == nil {
		ctx.Respond(&messages.PushResult{Error: &messages.Error{
			Code: "illegal_argument", Field: "message", Description: "parameters is invalid : message"}})
		return
	}
	if e := messages.ValidatePushMessage(m); e != nil {
		ctx.Respond(&messages.PushResult{MsgId: m.MsgId, Error: e})
		return
	}

	now := in.deps.Now().UnixMilli()
	if m.AcceptedAt == 0 {
		m.AcceptedAt = now
	}
	if m.Timestamp == 0 {
		m.Timestamp = m.AcceptedAt
	}

	f := &fanout{
		deps:     in.deps,
		msg:      m,
		replyTo:  ctx.Sender(),
		deadline: wait,
	}
	// A root actor, not a child: the ingest actor need not hear of each
	// fan-out's end.
	ctx.ActorSystem().Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return f },
		in.deps.props()...))
}

func (d Deps) props() []actor.PropsOption {
	if d.Dispatcher == nil {
		return nil
	}
	return []actor.PropsOption{actor.WithDispatcher(d.Dispatcher)}
}
