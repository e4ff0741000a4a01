package user

import (
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
)

// presence applies one device event (SPEC.md §3.1).
func (g *grain) presence(ctx actor.Context, ev *messages.PresenceEvent) *messages.PresenceReply {
	if g.failed {
		return &messages.PresenceReply{Error: unavailable()}
	}
	if e := messages.ValidatePresence(ev); e != nil {
		return &messages.PresenceReply{Error: e}
	}
	at := ev.Timestamp
	if at == 0 {
		at = g.deps.Now().UnixMilli()
	}

	dev := g.device(ev.DeviceId)
	// Events can arrive out of order; an older one never undoes a newer.
	if at >= dev.LastEvent {
		switch ev.State {
		case messages.PresenceState_PRESENCE_ONLINE:
			dev.State = ev.State
			dev.Badge = 0
		case messages.PresenceState_PRESENCE_OFFLINE:
			if dev.State != messages.PresenceState_PRESENCE_KICKED {
				dev.State = ev.State
			}
		case messages.PresenceState_PRESENCE_KICKED:
			dev.State = ev.State
		}
		dev.LastEvent = at
		g.markSoftDirty(ctx)
	}

	return &messages.PresenceReply{DeviceId: ev.DeviceId, State: dev.State,
		OfflineMsgCount: dev.Badge}
}

// device returns the state of deviceID, registering an unseen device as
// offline with a zero counter.
func (g *grain) device(deviceID string) *messages.DeviceState {
	dev := g.soft.Devices[deviceID]
	if dev == nil {
		dev = &messages.DeviceState{State: messages.PresenceState_PRESENCE_OFFLINE}
		g.soft.Devices[deviceID] = dev
	}
	return dev
}

// putBinding upserts or deletes bindings (SPEC.md §4) and answers with the
// device's bindings after the change, once the change is durable.
//
// An upsert first takes the (notifier, token) pair from any other user
// holding it (claimBinding, see package token); that answer comes later,
// from the claim's continuation, and putBinding returns nil.
func (g *grain) putBinding(ctx actor.Context, m *messages.PutBinding) *messages.BindingsReply {
	if g.failed {
		return &messages.BindingsReply{Error: unavailable()}
	}
	if e := messages.ValidatePutBinding(m); e != nil {
		return &messages.BindingsReply{Error: e}
	}
	if m.DeviceToken != "" && m.NotifierName != "" {
		g.claimBinding(ctx, m)
		return nil
	}
	return g.commitBinding(ctx, m, g.deps.Now().UnixMilli())
}

// commitBinding applies m, stamping a new or changed binding with stamp
// (its claim's), makes the change durable and answers with the device's
// bindings. Pairs the user no longer holds are released afterwards.
func (g *grain) commitBinding(ctx actor.Context, m *messages.PutBinding,
	stamp int64) *messages.BindingsReply {

	upsert := m.DeviceToken != "" && m.NotifierName != ""
	rec := proto.Clone(g.rec).(*messages.UserRecord)
	now := g.deps.Now().UnixMilli()
	changed := applyBinding(rec, m, stamp)
	if upsert && dropOtherDevices(rec, m.DeviceId, pair{m.NotifierName, m.DeviceToken}) {
		changed = true
	}
	if changed {
		rec.Modified = now
		if rec.Created == 0 {
			rec.Created = now
		}
		before := g.rec.Bindings
		if e := g.store(ctx, rec); e != nil {
			return &messages.BindingsReply{Error: e}
		}
		g.releaseLost(ctx, before, g.rec.Bindings)
	}
	if upsert {
		g.device(m.DeviceId)
		g.markSoftDirty(ctx)
	}
	return &messages.BindingsReply{Bindings: g.deviceBindings(m.DeviceId)}
}

// applyBinding changes rec's bindings as m says and reports whether
// anything changed. Bindings stay sorted by device id, then notifier name.
func applyBinding(rec *messages.UserRecord, m *messages.PutBinding, now int64) bool {
	before := len(rec.Bindings)
	switch {
	case m.NotifierName == "":
		rec.Bindings = slices.DeleteFunc(rec.Bindings, func(b *messages.Binding) bool {
			return b.DeviceId == m.DeviceId
		})
		return len(rec.Bindings) != before
	case m.DeviceToken == "":
		rec.Bindings = slices.DeleteFunc(rec.Bindings, func(b *messages.Binding) bool {
			return b.DeviceId == m.DeviceId && b.NotifierName == m.NotifierName
		})
		return len(rec.Bindings) != before
	}

	i, found := slices.BinarySearchFunc(rec.Bindings, m, func(b *messages.Binding, m *messages.PutBinding) int {
		if c := strings.Compare(b.DeviceId, m.DeviceId); c != 0 {
			return c
		}
		return strings.Compare(b.NotifierName, m.NotifierName)
	})
	if found {
		if rec.Bindings[i].DeviceToken == m.DeviceToken {
			return false
		}
		rec.Bindings[i].DeviceToken = m.DeviceToken
		rec.Bindings[i].Modified = now
		return true
	}
	rec.Bindings = slices.Insert(rec.Bindings, i, &messages.Binding{
		DeviceId: m.DeviceId, NotifierName: m.NotifierName,
		DeviceToken: m.DeviceToken, Modified: now,
	})
	return true
}

func (g *grain) getBindings() *messages.BindingsReply {
	if g.failed {
		return &messages.BindingsReply{Error: unavailable()}
	}
	return &messages.BindingsReply{Bindings: g.rec.Bindings}
}

// unbind deletes a binding a vendor reported invalid, unless it was
// rebound since: a changed token, or a write after the vendor's timestamp.
func (g *grain) unbind(ctx actor.Context, m *messages.Unbind) *messages.UnbindReply {
	if g.failed {
		return &messages.UnbindReply{Error: unavailable()}
	}
	i := slices.IndexFunc(g.rec.Bindings, func(b *messages.Binding) bool {
		return b.DeviceId == m.DeviceId && b.NotifierName == m.NotifierName &&
			b.DeviceToken == m.DeviceToken
	})
	if i < 0 {
		return &messages.UnbindReply{}
	}
	if m.NotAfter > 0 && g.rec.Bindings[i].Modified >= m.NotAfter {
		return &messages.UnbindReply{}
	}

	rec := proto.Clone(g.rec).(*messages.UserRecord)
	rec.Bindings = slices.Delete(rec.Bindings, i, i+1)
	rec.Modified = g.deps.Now().UnixMilli()
	before := g.rec.Bindings
	if e := g.store(ctx, rec); e != nil {
		return &messages.UnbindReply{Error: e}
	}
	g.releaseLost(ctx, before, g.rec.Bindings)
	g.deps.Logger.Info("unbound invalid token", "app", g.appKey, "user", g.user,
		"device", m.DeviceId, "notifier", m.NotifierName)
	return &messages.UnbindReply{Removed: true}
}

// getBadge answers a device's counter, or the largest one (SPEC.md §3.3).
func (g *grain) getBadge(m *messages.GetBadge) *messages.BadgeReply {
	if g.failed {
		return &messages.BadgeReply{Error: unavailable()}
	}
	if m.DeviceId != "" {
		if dev := g.soft.Devices[m.DeviceId]; dev != nil {
			return &messages.BadgeReply{Count: dev.Badge}
		}
		return &messages.BadgeReply{}
	}
	var most int64
	for _, dev := range g.soft.Devices {
		most = max(most, dev.Badge)
	}
	return &messages.BadgeReply{Count: most}
}

func (g *grain) getUser() *messages.UserReply {
	if g.failed {
		return &messages.UserReply{Error: unavailable()}
	}
	return &messages.UserReply{User: g.rec}
}
