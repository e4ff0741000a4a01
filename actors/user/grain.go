package user

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/actors/app"
	"github.com/herald-im/herald/actors/delivery"
	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
)

// Kind is the cluster kind of the user grain.
const Kind = "user"

// Identity returns the grain identity of user in appKey.
func Identity(appKey, user string) string { return appKey + "/" + user }

// splitIdentity undoes Identity. Appkeys never contain "/", user ids may.
func splitIdentity(id string) (appKey, user string, ok bool) {
	return strings.Cut(id, "/")
}

// Deps are what every user grain of a node shares.
type Deps struct {
	Registers persistence.Registers
	Store     *persistence.Store
	// Soft writes the user's soft state; the replicated registers send it
	// on to the other replicas in batches. nil writes to Store only.
	Soft interface {
		PutSoft(key string, value []byte) error
	}
	Apps     *app.Cache
	Delivery *delivery.Registry
	Logger   *slog.Logger
	Now      func() time.Time
	// IdleTimeout passivates a grain that received nothing for this long.
	IdleTimeout time.Duration
	// SoftFlushDelay batches soft-state writes: the first change schedules
	// one write this much later, carrying every change made meanwhile.
	SoftFlushDelay time.Duration
	// RecentLimit bounds the remembered message ids per user.
	RecentLimit int
	// Names is the node's display-name cache this grain keeps current;
	// nil keeps none.
	Names *Names
	// Events receives the reason-carrying stops of the pipeline (the
	// webhook reports them); nil reports nothing. It never blocks.
	Events events.Sink
}

// NewKind returns the cluster kind that activates user grains.
func NewKind(d Deps) *cluster.Kind {
	if d.RecentLimit <= 0 {
		d.RecentLimit = 2048
	}
	if d.SoftFlushDelay <= 0 {
		d.SoftFlushDelay = 200 * time.Millisecond
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &grain{deps: d} })
	return cluster.NewKind(Kind, props)
}

// flushSoft is the grain's reminder to write its soft state.
type flushSoft struct{}

// grain holds one user's state. Everything runs in its mailbox, so nothing
// here needs a lock.
type grain struct {
	deps   Deps
	appKey string
	user   string

	lease persistence.Lease
	rec   *messages.UserRecord
	soft  *messages.UserSoftState
	// recent indexes soft.Recent by message id for the dedup check.
	recent map[string]int64
	// claims are this grain's device-token claims in flight (tokens.go).
	claims map[pair]*claimState

	softDirty      bool
	flushScheduled bool
	// failed is set when activation could not read the user's state: every
	// request then fails as unavailable, so nothing is decided on a state
	// that might be stale.
	failed bool
}

func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.activate(ctx, m.Identity.Identity)
		if g.failed {
			// Answer what is queued as unavailable, then stop: the next
			// request activates afresh instead of finding this failed
			// activation until it idles out.
			ctx.Poison(ctx.Self())
		}
	case *actor.ReceiveTimeout:
		if len(g.claims) > 0 {
			// A claim's answer is still due; stay until it is given.
			ctx.SetReceiveTimeout(g.deps.IdleTimeout)
			return
		}
		g.flush()
		ctx.Stop(ctx.Self())
	case *actor.Stopping:
		g.flush()
		g.deps.Names.forget(Identity(g.appKey, g.user))
	case flushSoft:
		g.flushScheduled = false
		g.flush()
	case *messages.Deliver:
		ctx.Respond(g.deliver(ctx, m, nil, false))
	case *ParsedDeliver:
		ctx.Respond(g.deliver(ctx, m.Deliver, m.Ext, true))
	case *messages.PresenceEvent:
		ctx.Respond(g.presence(ctx, m))
	case *messages.PutBinding:
		if reply := g.putBinding(ctx, m); reply != nil {
			ctx.Respond(reply)
		}
	case *messages.ReleaseToken:
		ctx.Respond(g.releaseToken(ctx, m))
	case *messages.GetBindings:
		ctx.Respond(g.getBindings())
	case *messages.Unbind:
		ctx.Respond(g.unbind(ctx, m))
	case *messages.GetBadge:
		ctx.Respond(g.getBadge(m))
	case *messages.GetUser:
		ctx.Respond(g.getUser())
	case *messages.PutNotificationSetting:
		ctx.Respond(g.putSetting(ctx, m))
	case *messages.GetNotificationSettings:
		ctx.Respond(g.getSettings(m))
	case *messages.PutUserLanguage:
		ctx.Respond(g.putLanguage(ctx, m))
	case *messages.PutUserTimezone:
		ctx.Respond(g.putTimezone(ctx, m))
	case *messages.PutUserTemplate:
		ctx.Respond(g.putTemplate(ctx, m))
	case *messages.PutUserProfile:
		ctx.Respond(g.putProfile(ctx, m))
	case *messages.Preview:
		ctx.Respond(g.preview(m))
	default:
		g.unknown(ctx, m)
	}
}

// unknown answers a request the grain does not understand with an error
// instead of leaving the caller to time out.
func (g *grain) unknown(ctx actor.Context, m any) {
	if _, ok := m.(proto.Message); !ok || ctx.Sender() == nil {
		return
	}
	ctx.Respond(&messages.UserReply{Error: &messages.Error{
		Code: "illegal_argument", Field: "message",
		Description: fmt.Sprintf("unknown user message %T", m)}})
}

func (g *grain) activate(ctx actor.Context, identity string) {
	appKey, user, ok := splitIdentity(identity)
	if !ok {
		g.failed = true
		g.deps.Logger.Error("bad user grain identity", "identity", identity)
		return
	}
	g.appKey, g.user = appKey, user
	g.soft = &messages.UserSoftState{Devices: map[string]*messages.DeviceState{}}
	g.recent = map[string]int64{}
	g.claims = map[pair]*claimState{}
	if g.deps.IdleTimeout > 0 {
		ctx.SetReceiveTimeout(g.deps.IdleTimeout)
	}

	// The register read fences any older activation of this user, so two
	// activations can never both write.
	lease, value, err := g.deps.Registers.Activate(context.Background(),
		persistence.UserKey(appKey, user))
	if err != nil {
		g.fail("activate user", err)
		return
	}
	g.lease = lease
	g.rec = &messages.UserRecord{User: user}
	if value != nil {
		if err := proto.Unmarshal(value, g.rec); err != nil {
			g.fail("decode user record", err)
			return
		}
	}

	g.deps.Names.set(Identity(appKey, user), user, g.rec.Nickname)

	softValue, err := g.deps.Store.GetSoft(persistence.UserSoftKey(appKey, user))
	if err != nil {
		g.fail("read user soft state", err)
		return
	}
	if softValue != nil {
		if err := proto.Unmarshal(softValue, g.soft); err != nil {
			// Soft state is best effort: start clean rather than refuse
			// the user's pushes.
			g.deps.Logger.Warn("drop undecodable soft state", "app", appKey, "user", user,
				"err", err)
			g.soft = &messages.UserSoftState{}
		}
	}
	if g.soft.Devices == nil {
		g.soft.Devices = map[string]*messages.DeviceState{}
	}
	for _, r := range g.soft.Recent {
		g.recent[r.MsgId] = r.ProcessedAt
	}
}

func (g *grain) fail(what string, err error) {
	g.failed = true
	g.deps.Logger.Error(what, "app", g.appKey, "user", g.user, "err", err)
}

// markSoftDirty notes a soft-state change and schedules one batched write.
func (g *grain) markSoftDirty(ctx actor.Context) {
	g.softDirty = true
	if g.flushScheduled {
		return
	}
	g.flushScheduled = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(g.deps.SoftFlushDelay, func() { root.Send(self, flushSoft{}) })
}

// flush writes the soft state if it changed. The store syncs soft writes in
// the background, so this never waits for the disk.
func (g *grain) flush() {
	if !g.softDirty || g.failed {
		return
	}
	value, err := proto.Marshal(g.soft)
	if err == nil {
		err = g.softStore().PutSoft(persistence.UserSoftKey(g.appKey, g.user), value)
	}
	if err != nil {
		g.deps.Logger.Warn("write soft state", "app", g.appKey, "user", g.user, "err", err)
		return
	}
	g.softDirty = false
}

func (g *grain) softStore() interface{ PutSoft(string, []byte) error } {
	if g.deps.Soft != nil {
		return g.deps.Soft
	}
	return g.deps.Store
}

// store makes rec durable, then adopts it. On failure the grain keeps its
// previous record and the caller answers with the returned error.
func (g *grain) store(ctx actor.Context, rec *messages.UserRecord) *messages.Error {
	value, err := proto.Marshal(rec)
	if err != nil {
		return &messages.Error{Code: "internal", Description: "encode user record"}
	}
	if err := g.lease.Write(context.Background(), value); err != nil {
		g.deps.Logger.Error("write user record", "app", g.appKey, "user", g.user, "err", err)
		if errors.Is(err, persistence.ErrFenced) {
			// A newer activation owns this user now; this one must go.
			ctx.Stop(ctx.Self())
		}
		return unavailable()
	}
	g.rec = rec
	g.deps.Names.set(Identity(g.appKey, g.user), g.user, rec.Nickname)
	return nil
}

func unavailable() *messages.Error {
	return &messages.Error{Code: "unavailable", Description: "user state is unavailable, retry"}
}
