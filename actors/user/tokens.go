package user

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/actors/token"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Token ownership (SPEC.md §4) from the user's side; the protocol and its
// crash windows are described in package token.

// tokenTimeout bounds each request to a token grain or to another user's
// grain; claimTimeout bounds a whole claim with its releases.
const (
	tokenTimeout = 5 * time.Second
	claimTimeout = 15 * time.Second
)

// pair is a (notifier, token) pair.
type pair struct{ notifier, token string }

// claimState tracks this grain's claims of one pair that are in flight.
type claimState struct {
	pending int
	// releasedAt is the newest ReleaseToken stamp that arrived meanwhile:
	// a claim with an older stamp lost the pair and must not store it.
	releasedAt int64
}

// claimResult is what the goroutine of claimBinding reports back.
type claimResult struct {
	stamp    int64
	released []string // users that confirmed dropping the pair
	err      error
}

// claimBinding upserts m's binding after taking its pair from whoever
// holds it. It answers later, from the continuation, so the mailbox keeps
// running (and can serve the ReleaseTokens of a competing claim) while
// the token grain and the other users' grains work.
func (g *grain) claimBinding(ctx actor.Context, m *messages.PutBinding) {
	p := pair{m.NotifierName, m.DeviceToken}
	if g.holdsOnly(m.DeviceId, p) {
		// The claim that stored this binding released everyone already.
		ctx.Respond(g.commitBinding(ctx, m, g.deps.Now().UnixMilli()))
		return
	}
	c := g.claims[p]
	if c == nil {
		c = &claimState{}
		g.claims[p] = c
	}
	c.pending++

	sys := ctx.ActorSystem()
	f := actor.NewFuture(sys, claimTimeout)
	tokens := token.NewClient(cluster.GetCluster(sys), tokenTimeout)
	appKey, self := g.appKey, g.user
	claim := &messages.TokenClaim{NotifierName: p.notifier, DeviceToken: p.token,
		User: self, DeviceId: m.DeviceId}
	go func() {
		sys.Root.Send(f.PID(), takePair(cluster.GetCluster(sys), tokens, appKey, claim))
	}()

	ctx.ReenterAfter(f, func(res any, err error) {
		ctx.Respond(g.finishClaim(ctx, m, p, res, err))
	})
}

// takePair claims the pair and has every stale user drop it. It runs in a
// goroutine: it waits on other grains, which may be waiting on this one.
func takePair(cl *cluster.Cluster, tokens *token.Client, appKey string,
	claim *messages.TokenClaim) *claimResult {

	ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
	defer cancel()
	reply, err := tokens.Claim(ctx, appKey, claim)
	if err != nil {
		return &claimResult{err: err}
	}

	res := &claimResult{stamp: reply.Stamp}
	drop := &messages.ReleaseToken{NotifierName: claim.NotifierName,
		DeviceToken: claim.DeviceToken, NotAfter: reply.Stamp}
	for _, u := range reply.Release {
		if u == claim.User {
			continue // never stale (claim removes it); never ask oneself
		}
		answer, err := cl.Request(Identity(appKey, u), Kind, drop,
			cluster.WithTimeout(tokenTimeout))
		if err != nil {
			return &claimResult{err: fmt.Errorf("release from %q: %w", u, err)}
		}
		r, ok := answer.(*messages.ReleaseTokenReply)
		if !ok || r.Error != nil {
			return &claimResult{err: fmt.Errorf("release from %q: answer %v", u, answer)}
		}
		res.released = append(res.released, u)
	}
	return res
}

// finishClaim stores the binding once the claim succeeded and was not
// overtaken by a newer one, and answers the PUT.
func (g *grain) finishClaim(ctx actor.Context, m *messages.PutBinding, p pair, res any,
	err error) *messages.BindingsReply {

	releasedAt := g.endClaim(p)
	r, ok := res.(*claimResult)
	switch {
	case err != nil:
	case !ok:
		err = fmt.Errorf("unexpected claim result %T", res)
	default:
		err = r.err
	}
	if err != nil {
		g.deps.Logger.Warn("claim device token", "app", g.appKey, "user", g.user,
			"device", m.DeviceId, "notifier", m.NotifierName,
			"token", vendors.MaskToken(m.DeviceToken), "err", err)
		return &messages.BindingsReply{Error: unavailable()}
	}
	if releasedAt > r.stamp {
		// A later claim took the pair while ours was in flight: our PUT
		// happened first and was undone, so nothing is stored.
		return &messages.BindingsReply{Bindings: g.deviceBindings(m.DeviceId)}
	}

	reply := g.commitBinding(ctx, m, r.stamp)
	if reply.Error == nil && len(r.released) > 0 {
		g.settle(ctx, p, r)
	}
	return reply
}

// endClaim ends one claim of p and returns the newest release stamp that
// arrived while it was in flight.
func (g *grain) endClaim(p pair) int64 {
	c := g.claims[p]
	if c == nil {
		return 0
	}
	c.pending--
	if c.pending <= 0 {
		delete(g.claims, p)
	}
	return c.releasedAt
}

// holdsOnly reports whether the device already has p on p's notifier and
// no other device of this user has p.
func (g *grain) holdsOnly(deviceID string, p pair) bool {
	held := false
	for _, b := range g.rec.Bindings {
		if b.NotifierName != p.notifier || b.DeviceToken != p.token {
			continue
		}
		if b.DeviceId != deviceID {
			return false
		}
		held = true
	}
	return held
}

// dropOtherDevices removes p from every device of rec but deviceID: a
// device token addresses one app install, so when the user rebinds it on
// another device the old binding would only get each push twice.
func dropOtherDevices(rec *messages.UserRecord, deviceID string, p pair) bool {
	before := len(rec.Bindings)
	rec.Bindings = slices.DeleteFunc(rec.Bindings, func(b *messages.Binding) bool {
		return b.DeviceId != deviceID && b.NotifierName == p.notifier &&
			b.DeviceToken == p.token
	})
	return len(rec.Bindings) != before
}

// dropOlder removes every binding of p written before notAfter.
func dropOlder(rec *messages.UserRecord, p pair, notAfter int64) int {
	before := len(rec.Bindings)
	rec.Bindings = slices.DeleteFunc(rec.Bindings, func(b *messages.Binding) bool {
		return b.NotifierName == p.notifier && b.DeviceToken == p.token &&
			b.Modified < notAfter
	})
	return before - len(rec.Bindings)
}

// lostPairs returns the bindings of before whose pair is nowhere in after.
func lostPairs(before, after []*messages.Binding) []*messages.Binding {
	var lost []*messages.Binding
	for _, b := range before {
		if !slices.ContainsFunc(after, func(a *messages.Binding) bool {
			return a.NotifierName == b.NotifierName && a.DeviceToken == b.DeviceToken
		}) {
			lost = append(lost, b)
		}
	}
	return lost
}

// releaseToken drops this user's bindings of a pair another user claimed
// (ReleaseToken), answering after the drop is durable.
func (g *grain) releaseToken(ctx actor.Context,
	m *messages.ReleaseToken) *messages.ReleaseTokenReply {

	if g.failed {
		return &messages.ReleaseTokenReply{Error: unavailable()}
	}
	switch {
	case m.NotifierName == "":
		return &messages.ReleaseTokenReply{Error: messages.InvalidField("notifier_name")}
	case m.DeviceToken == "":
		return &messages.ReleaseTokenReply{Error: messages.InvalidField("device_token")}
	case m.NotAfter <= 0:
		return &messages.ReleaseTokenReply{Error: messages.InvalidField("not_after")}
	}
	p := pair{m.NotifierName, m.DeviceToken}
	if c := g.claims[p]; c != nil {
		c.releasedAt = max(c.releasedAt, m.NotAfter)
	}

	rec := proto.Clone(g.rec).(*messages.UserRecord)
	removed := dropOlder(rec, p, m.NotAfter)
	if removed == 0 {
		return &messages.ReleaseTokenReply{}
	}
	rec.Modified = g.deps.Now().UnixMilli()
	if e := g.store(ctx, rec); e != nil {
		return &messages.ReleaseTokenReply{Error: e}
	}
	g.deps.Logger.Info("device token taken by another user", "app", g.appKey,
		"user", g.user, "notifier", m.NotifierName, "token", vendors.MaskToken(m.DeviceToken))
	return &messages.ReleaseTokenReply{Removed: int32(removed)}
}

// releaseLost tells the token grains of pairs this user no longer holds
// that it gave them up. Nobody waits: a lost release leaves an owner
// without a binding, which is harmless (see package token).
func (g *grain) releaseLost(ctx actor.Context, before, after []*messages.Binding) {
	lost := lostPairs(before, after)
	if len(lost) == 0 {
		return
	}
	tokens := token.NewClient(cluster.GetCluster(ctx.ActorSystem()), tokenTimeout)
	appKey, user, log := g.appKey, g.user, g.deps.Logger
	go func() {
		for _, b := range lost {
			_, err := tokens.Release(context.Background(), appKey, &messages.TokenRelease{
				NotifierName: b.NotifierName, DeviceToken: b.DeviceToken, User: user,
				Stamp: b.Modified})
			if err != nil {
				log.Warn("release device token", "app", appKey, "user", user,
					"notifier", b.NotifierName, "token", vendors.MaskToken(b.DeviceToken),
					"err", err)
			}
		}
	}()
}

// settle reports the users a claim released, so they leave the pair's
// stale list. Nobody waits: if it is lost, the next claim asks them again.
func (g *grain) settle(ctx actor.Context, p pair, r *claimResult) {
	tokens := token.NewClient(cluster.GetCluster(ctx.ActorSystem()), tokenTimeout)
	m := &messages.TokenSettle{NotifierName: p.notifier, DeviceToken: p.token,
		User: g.user, Stamp: r.stamp, Users: r.released}
	appKey, log := g.appKey, g.deps.Logger
	go func() {
		if err := tokens.Settle(context.Background(), appKey, m); err != nil {
			log.Debug("settle device token", "app", appKey, "err", err)
		}
	}()
}

// deviceBindings returns the bindings of one device.
func (g *grain) deviceBindings(deviceID string) []*messages.Binding {
	var out []*messages.Binding
	for _, b := range g.rec.Bindings {
		if b.DeviceId == deviceID {
			out = append(out, b)
		}
	}
	return out
}
