package user

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/push"
)

// dedupWindow is how long a processed (msg_id, recipient) pair is
// remembered (SPEC.md §2.7).
const dedupWindow = 24 * time.Hour

// deliver runs the decision pipeline for one message and hands every
// notification to its notifier's delivery actor. It answers at once; the
// fan-out collects the send outcomes.
// ParsedDeliver is Deliver as a fan-out on the grain's own node sends it:
// with the message's ext parsed once for all its recipients. It is not a
// protobuf message and never crosses a node; remote grains get Deliver and
// parse the ext themselves.
type ParsedDeliver struct {
	*messages.Deliver
	// Ext is the parsed ext, nil when the ext is invalid (SPEC.md §2.2).
	Ext *push.Ext
}

// deliver decides m for this user. ext is the message's parsed ext when
// parsed is true; otherwise the grain parses it.
func (g *grain) deliver(ctx actor.Context, m *messages.Deliver, ext *push.Ext,
	parsed bool) *messages.DeliverReply {
	reply := &messages.DeliverReply{Recipient: g.user}
	if g.failed {
		reply.Error = unavailable()
		return reply
	}
	msg := m.Message
	if msg == nil {
		reply.Error = &messages.Error{Code: "illegal_argument", Field: "message",
			Description: "parameters is invalid : message"}
		return reply
	}
	now := g.deps.Now()

	// A pair processed before is never processed again: no second push and
	// no second badge count (SPEC.md §2.7).
	if _, seen := g.recent[msg.MsgId]; seen {
		reply.Outcome = messages.Outcome_OUTCOME_DUPLICATE
		return reply
	}
	g.remember(msg.MsgId, now.UnixMilli())
	g.markSoftDirty(ctx)

	if !push.Eligible(msg) {
		reply.Outcome = messages.Outcome_OUTCOME_SKIPPED
		return reply
	}

	// Every accepted message counts for the badge of each offline or
	// kicked device, whatever the pipeline decides next (SPEC.md §3.3).
	push.CountBadge(g.soft.Devices)

	appRec := g.appRecord()
	if appRec == nil {
		reply.Error = unavailable()
		return reply
	}
	if !parsed {
		var err error
		if ext, err = push.ParseExt(msg.Ext); err != nil {
			ext = nil // Decide stops the message as invalid
		}
	}

	d := push.Decide(push.Input{
		Message:           msg,
		Ext:               ext,
		Recipient:         g.user,
		User:              g.rec,
		Devices:           g.soft.Devices,
		App:               appRec,
		SenderDisplayName: m.SenderDisplayName,
		Now:               now,
	})
	if d.Stop != nil {
		reply.Outcome = messages.Outcome_OUTCOME_SKIPPED
		reply.Detail = d.Stop.Reason
		g.report(msg, d.Stop, nil, now)
		return reply
	}

	for _, b := range d.Bindings {
		if b.Stop != nil {
			reply.Stopped = append(reply.Stopped, stoppedResult(b))
			g.report(msg, b.Stop, &b, now)
			continue
		}
		g.deps.Delivery.Send(g.appKey, b.Notifier, &messages.Send{
			AppKey:          g.appKey,
			NotifierName:    b.Binding.NotifierName,
			Recipient:       g.user,
			DeviceId:        b.Binding.DeviceId,
			DeviceToken:     b.Binding.DeviceToken,
			MsgId:           msg.MsgId,
			Notification:    b.Notification,
			ReplyTo:         m.ReplyTo,
			BindingModified: b.Binding.Modified,
			From:            msg.From,
			ChatType:        msg.ChatType,
			GroupId:         msg.GroupId,
		})
		reply.Sends++
	}

	switch {
	case reply.Sends > 0:
		reply.Outcome = messages.Outcome_OUTCOME_PENDING
	default:
		reply.Outcome = messages.Outcome_OUTCOME_SKIPPED
	}
	return reply
}

// report hands a stop with a reason to the node's event sink: one event
// for a recipient-level stop (b nil), one per binding otherwise. Silent
// stops report nothing (SPEC.md §12).
func (g *grain) report(msg *messages.PushMessage, stop *push.Stop, b *push.BindingDecision,
	now time.Time) {

	if g.deps.Events == nil || stop.Reason == "" {
		return
	}
	ev := &events.Event{
		AppKey:   g.appKey,
		MsgID:    msg.MsgId,
		From:     msg.From,
		ChatType: msg.ChatType,
		Target:   g.user,
		GroupID:  msg.GroupId,
		Status:   events.StatusFail,
		Detail:   stop.Reason,
		Step:     stop.Step,
		Time:     now,
	}
	if b != nil {
		ev.DeviceID = b.Binding.DeviceId
		ev.DeviceToken = b.Binding.DeviceToken
		ev.NotifierName = b.Binding.NotifierName
		ev.Provider = b.Notifier.GetProvider()
	}
	g.deps.Events.Emit(ev)
}

// stoppedResult reports a binding the pipeline stopped. A stop with a
// reason is a "fail" event (SPEC.md §2.1); a silent stop has no status.
func stoppedResult(b push.BindingDecision) *messages.BindingResult {
	r := &messages.BindingResult{
		DeviceId:     b.Binding.DeviceId,
		NotifierName: b.Binding.NotifierName,
		Detail:       b.Stop.Reason,
	}
	if b.Stop.Reason != "" {
		r.Status = "fail"
	}
	return r
}

// appRecord returns the app's current record from the node cache, loading
// it through the app grain when this node has not seen the app yet.
func (g *grain) appRecord() *messages.AppRecord {
	if rec := g.deps.Apps.Peek(g.appKey); rec != nil {
		return rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := g.deps.Apps.Get(ctx, g.appKey)
	if err != nil {
		g.deps.Logger.Warn("load app for push", "app", g.appKey, "err", err)
		return nil
	}
	return rec
}

// remember records a processed message id, forgetting ids older than the
// dedup window and, past RecentLimit, the oldest ones.
func (g *grain) remember(msgID string, at int64) {
	cutoff := at - dedupWindow.Milliseconds()
	drop := 0
	for drop < len(g.soft.Recent) {
		r := g.soft.Recent[drop]
		if r.ProcessedAt >= cutoff && len(g.soft.Recent)-drop < g.deps.RecentLimit {
			break
		}
		delete(g.recent, r.MsgId)
		drop++
	}
	if drop > 0 {
		g.soft.Recent = append(g.soft.Recent[:0], g.soft.Recent[drop:]...)
	}

	g.soft.Recent = append(g.soft.Recent, &messages.RecentMessage{MsgId: msgID, ProcessedAt: at})
	g.recent[msgID] = at
}
