package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
)

// Deps are what every token grain of a node shares.
type Deps struct {
	Registers persistence.Registers
	Logger    *slog.Logger
	Now       func() time.Time
	// IdleTimeout passivates a grain that received nothing for this long.
	IdleTimeout time.Duration
}

// NewKind returns the cluster kind that activates token grains.
func NewKind(d Deps) *cluster.Kind {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &grain{deps: d} })
	return cluster.NewKind(Kind, props)
}

// grain holds one pair's owner. Everything runs in its mailbox, and it
// never sends a request of its own, so it can never wait on a user grain.
type grain struct {
	deps     Deps
	identity string
	appKey   string

	lease persistence.Lease
	owner *messages.TokenOwner // nil: never claimed
	// failed is set when activation could not read the register: every
	// request then fails as unavailable.
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
		ctx.Stop(ctx.Self())
	case *messages.TokenClaim:
		ctx.Respond(g.claim(ctx, m))
	case *messages.TokenRelease:
		ctx.Respond(g.release(ctx, m))
	case *messages.TokenSettle:
		ctx.Respond(g.settle(ctx, m))
	case *messages.GetTokenOwner:
		ctx.Respond(g.getOwner(m))
	default:
		if _, ok := m.(proto.Message); ok && ctx.Sender() != nil {
			ctx.Respond(&messages.TokenOwnerReply{Error: &messages.Error{
				Code: messages.CodeIllegalArgument, Field: "message",
				Description: fmt.Sprintf("unknown token message %T", m)}})
		}
	}
}

func (g *grain) activate(ctx actor.Context, identity string) {
	g.identity = identity
	key, appKey, ok := registerKey(identity)
	if !ok {
		g.failed = true
		g.deps.Logger.Error("bad token grain identity", "identity_bytes", len(identity))
		return
	}
	g.appKey = appKey
	if g.deps.IdleTimeout > 0 {
		ctx.SetReceiveTimeout(g.deps.IdleTimeout)
	}

	// The register read fences any older activation of this pair.
	lease, value, err := g.deps.Registers.Activate(context.Background(), key)
	if err != nil {
		g.fail("activate token", err)
		return
	}
	g.lease = lease
	if value != nil {
		owner := &messages.TokenOwner{}
		if err := proto.Unmarshal(value, owner); err != nil {
			g.fail("decode token owner", err)
			return
		}
		g.owner = owner
	}
}

func (g *grain) fail(what string, err error) {
	g.failed = true
	g.deps.Logger.Error(what, "app", g.appKey, "err", err)
}

// check refuses a request the grain cannot serve: activation failed, or
// the pair is not this grain's (misrouted, or a hash collision).
func (g *grain) check(notifier, token string) *messages.Error {
	if g.failed {
		return unavailable()
	}
	if e := validPair(notifier, token); e != nil {
		return e
	}
	if Identity(g.appKey, notifier, token) != g.identity {
		return &messages.Error{Code: messages.CodeIllegalArgument, Field: "device_token",
			Description: "pair does not belong to this token grain"}
	}
	if g.owner != nil && (g.owner.NotifierName != notifier || g.owner.DeviceToken != token) {
		return &messages.Error{Code: messages.CodeInternal, Description: "token identity collision"}
	}
	return nil
}

func (g *grain) claim(ctx actor.Context, c *messages.TokenClaim) *messages.TokenClaimReply {
	if e := g.check(c.NotifierName, c.DeviceToken); e != nil {
		return &messages.TokenClaimReply{Error: e}
	}
	if e := validateClaim(c); e != nil {
		return &messages.TokenClaimReply{Error: e}
	}
	next, write := claim(g.owner, c, g.deps.Now().UnixMilli())
	if write {
		if e := g.store(ctx, next); e != nil {
			return &messages.TokenClaimReply{Error: e}
		}
	}
	// Replies never share the grain's value: a local reply is a pointer.
	return &messages.TokenClaimReply{Stamp: next.Stamp, Release: slices.Clone(next.Stale)}
}

func (g *grain) release(ctx actor.Context, r *messages.TokenRelease) *messages.TokenReleaseReply {
	if e := g.check(r.NotifierName, r.DeviceToken); e != nil {
		return &messages.TokenReleaseReply{Error: e}
	}
	if e := validateRelease(r); e != nil {
		return &messages.TokenReleaseReply{Error: e}
	}
	next, write := release(g.owner, r)
	if !write {
		return &messages.TokenReleaseReply{}
	}
	if e := g.store(ctx, next); e != nil {
		return &messages.TokenReleaseReply{Error: e}
	}
	return &messages.TokenReleaseReply{Released: true}
}

func (g *grain) settle(ctx actor.Context, s *messages.TokenSettle) *messages.TokenSettleReply {
	if e := g.check(s.NotifierName, s.DeviceToken); e != nil {
		return &messages.TokenSettleReply{Error: e}
	}
	if e := validateSettle(s); e != nil {
		return &messages.TokenSettleReply{Error: e}
	}
	next, write := settle(g.owner, s)
	if write {
		if e := g.store(ctx, next); e != nil {
			return &messages.TokenSettleReply{Error: e}
		}
	}
	return &messages.TokenSettleReply{}
}

func (g *grain) getOwner(m *messages.GetTokenOwner) *messages.TokenOwnerReply {
	if e := g.check(m.NotifierName, m.DeviceToken); e != nil {
		return &messages.TokenOwnerReply{Error: e}
	}
	if g.owner == nil {
		return &messages.TokenOwnerReply{}
	}
	return &messages.TokenOwnerReply{Owner: proto.Clone(g.owner).(*messages.TokenOwner)}
}

// store makes owner durable, then adopts it. On failure the grain keeps
// its previous value.
func (g *grain) store(ctx actor.Context, owner *messages.TokenOwner) *messages.Error {
	value, err := proto.Marshal(owner)
	if err != nil {
		return &messages.Error{Code: messages.CodeInternal, Description: "encode token owner"}
	}
	if err := g.lease.Write(context.Background(), value); err != nil {
		g.deps.Logger.Error("write token owner", "app", g.appKey, "err", err)
		if errors.Is(err, persistence.ErrFenced) {
			// A newer activation owns this pair now; this one must go.
			ctx.Stop(ctx.Self())
		}
		return unavailable()
	}
	g.owner = owner
	return nil
}

func unavailable() *messages.Error {
	return &messages.Error{Code: messages.CodeUnavailable,
		Description: "token owner is unavailable, retry"}
}
