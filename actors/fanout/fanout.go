package fanout

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/herald-im/herald/actors/app"
	"github.com/herald-im/herald/actors/user"
	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/push"
)

// timerFired is the fan-out's reminder to itself: first the answer is
// due, then the linger time is over.
type timerFired struct{}

// recipient tracks one recipient of the message until its outcome is final.
type recipient struct {
	result *messages.RecipientResult
	// decided is set once the grain answered Deliver.
	decided bool
	// sends counts notifications whose outcome has not arrived yet.
	sends int32
	// retried is set after one resend of Deliver to a fresh activation.
	retried bool
}

func (r *recipient) final() bool { return r.decided && r.sends == 0 }

// fanout is one message's actor. It lives until every recipient is final
// or its linger time ends, whichever comes first.
type fanout struct {
	deps     Deps
	msg      *messages.PushMessage
	replyTo  *actor.PID
	deadline time.Duration

	self       *messages.Pid
	senderName string
	// ext is the message's ext parsed once here; nil when invalid. Grains
	// on this node get it with their Deliver (user.ParsedDeliver).
	ext      *push.Ext
	order    []string
	byUser   map[string]*recipient
	open     int
	answered bool
	timer    *time.Timer
}

func (f *fanout) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		f.start(ctx)
	case *messages.DeliverReply:
		f.onDecided(ctx, m)
	case *messages.SendOutcome:
		f.onOutcome(ctx, m)
	case *actor.DeadLetterResponse:
		f.onDeadLetter(ctx, m)
	case timerFired:
		f.onTimer(ctx)
	case *actor.Stopping:
		// No reminder may reach a stopped actor as a dead letter.
		f.timer.Stop()
	}
}

func (f *fanout) start(ctx actor.Context) {
	addr := ctx.Self()
	f.self = &messages.Pid{Address: addr.Address, Id: addr.Id}
	// One timer serves both ends: it answers at the deadline, then is
	// set again to end the linger (see onTimer).
	f.timer = f.schedule(ctx, f.deadline)

	// The app must exist before anything is counted for its users.
	if f.deps.Apps.Peek(f.msg.AppKey) == nil {
		if errReply := f.loadApp(); errReply != nil {
			f.reply(ctx, &messages.PushResult{MsgId: f.msg.MsgId, Error: errReply})
			ctx.Stop(ctx.Self())
			return
		}
	}

	f.order = messages.NormalizeRecipients(f.msg)
	f.byUser = make(map[string]*recipient, len(f.order))
	for _, u := range f.order {
		f.byUser[u] = &recipient{result: &messages.RecipientResult{User: u}}
	}
	f.open = len(f.order)
	if f.open == 0 {
		f.answer(ctx)
		ctx.Stop(ctx.Self())
		return
	}

	f.senderName = f.senderDisplayName()
	if ext, err := push.ParseExt(f.msg.Ext); err == nil {
		f.ext = ext
	}
	for _, u := range f.order {
		f.sendDeliver(ctx, u)
	}
}

// loadApp reads an app this node has not seen yet through its grain.
func (f *fanout) loadApp() *messages.Error {
	rctx, cancel := context.WithTimeout(context.Background(), f.deps.RequestTimeout)
	defer cancel()
	_, err := f.deps.Apps.Get(rctx, f.msg.AppKey)
	switch {
	case err == nil:
		return nil
	case err == app.ErrNotFound:
		return &messages.Error{Code: "not_found", Field: "app_key", Description: err.Error()}
	}
	return &messages.Error{Code: "unavailable", Field: "app_key", Description: err.Error()}
}

// senderDisplayName resolves the sender's push nickname once for all
// recipients; the user id stands in when it has none or cannot be read.
func (f *fanout) senderDisplayName() string {
	if name, ok := f.deps.Names.Get(f.msg.AppKey, f.msg.From); ok {
		return name
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.lookupTimeout())
	defer cancel()
	reply, err := membership.Request(ctx, f.deps.Cluster, user.Identity(f.msg.AppKey, f.msg.From),
		user.Kind, &messages.GetUser{})
	if err == nil {
		if ur, ok := reply.(*messages.UserReply); ok && ur.User != nil && ur.User.Nickname != "" {
			return ur.User.Nickname
		}
	}
	return f.msg.From
}

// lookupTimeout bounds one grain lookup: the request timeout, or less
// when the answer is due sooner.
func (f *fanout) lookupTimeout() time.Duration {
	return min(f.deps.RequestTimeout, f.deadline)
}

// sendDeliver asks the recipient's grain to decide. The reply comes back to
// this actor as a message, so a slow grain never blocks the others. A
// cached activation is addressed at once; otherwise the lookup runs on its
// own goroutine, bounded by lookupTimeout, and sends Deliver on this
// actor's behalf, so a slow lookup never blocks the mailbox either.
func (f *fanout) sendDeliver(ctx actor.Context, u string) {
	id := user.Identity(f.msg.AppKey, u)
	deliver := &messages.Deliver{
		Message:           f.msg,
		Recipient:         u,
		SenderDisplayName: f.senderName,
		ReplyTo:           f.self,
	}
	if _, cached := f.deps.Cluster.PidCache.Get(id, user.Kind); cached {
		// Answers from the cache (or refuses a dead member) at once.
		pid, err := membership.Lookup(context.Background(), f.deps.Cluster, id, user.Kind)
		if err == nil {
			ctx.Request(pid, f.forGrain(pid, ctx.Self(), deliver))
			return
		}
	}

	self, root, log := ctx.Self(), ctx.ActorSystem().Root, f.deps.Logger
	appKey, cl, timeout := f.msg.AppKey, f.deps.Cluster, f.lookupTimeout()
	go func() {
		lctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		pid, err := membership.Lookup(lctx, cl, id, user.Kind)
		if err != nil {
			// No owner is reachable: the recipient stays pending and the
			// IM core resubmits.
			log.Warn("no activation for recipient", "app", appKey, "user", u, "err", err)
			return
		}
		root.RequestWithCustomSender(pid, f.forGrain(pid, self, deliver), self)
	}()
}

// forGrain is what the grain at pid gets: on this node, Deliver with the ext
// parsed once for every recipient; on another node, the protobuf Deliver.
func (f *fanout) forGrain(pid, self *actor.PID, d *messages.Deliver) any {
	if pid.Address == self.Address {
		return &user.ParsedDeliver{Deliver: d, Ext: f.ext}
	}
	return d
}

// onDeadLetter resends Deliver once when the grain it reached had just
// passivated; the next lookup activates it afresh.
func (f *fanout) onDeadLetter(ctx actor.Context, m *actor.DeadLetterResponse) {
	if m.Target == nil {
		return
	}
	for _, u := range f.order {
		r := f.byUser[u]
		id := user.Identity(f.msg.AppKey, u)
		if r.decided || r.retried {
			continue
		}
		if cached, _ := f.deps.Cluster.PidCache.Get(id, user.Kind); cached != nil && !cached.Equal(m.Target) {
			continue
		}
		r.retried = true
		f.deps.Cluster.PidCache.RemoveByValue(id, user.Kind, m.Target)
		f.sendDeliver(ctx, u)
	}
}

func (f *fanout) onDecided(ctx actor.Context, m *messages.DeliverReply) {
	r := f.byUser[m.Recipient]
	if r == nil || r.decided {
		return
	}
	if m.Error != nil {
		// The grain could not decide (its state is unavailable): leave the
		// recipient pending so the IM core resubmits.
		f.deps.Logger.Warn("recipient not decided", "app", f.msg.AppKey,
			"user", m.Recipient, "err", m.Error.Description)
		return
	}
	r.decided = true
	r.sends += m.Sends
	r.result.Outcome = m.Outcome
	r.result.Detail = m.Detail
	r.result.Bindings = append(r.result.Bindings, m.Stopped...)
	f.settle(ctx, r)
}

func (f *fanout) onOutcome(ctx actor.Context, m *messages.SendOutcome) {
	r := f.byUser[m.Recipient]
	if r == nil || m.Result == nil {
		return
	}
	// An outcome can overtake the grain's own answer: count it first and
	// let the answer add the number of sends.
	r.sends--
	r.result.Bindings = append(r.result.Bindings, m.Result)
	f.settle(ctx, r)
}

// settle finishes r when its last outcome arrived, and the message when its
// last recipient did.
func (f *fanout) settle(ctx actor.Context, r *recipient) {
	if !r.final() {
		return
	}
	if r.result.Outcome == messages.Outcome_OUTCOME_PENDING {
		r.result.Outcome = messages.Outcome_OUTCOME_FAILED
		for _, b := range r.result.Bindings {
			if b.Status == "success" {
				r.result.Outcome = messages.Outcome_OUTCOME_PUSHED
				break
			}
		}
	}
	f.open--
	if f.open == 0 {
		f.answer(ctx)
		ctx.Stop(ctx.Self())
	}
}

// answer sends the IM core the outcome so far, once.
func (f *fanout) answer(ctx actor.Context) {
	if f.answered {
		return
	}
	f.answered = true

	res := &messages.PushResult{MsgId: f.msg.MsgId, Recipients: int32(len(f.order))}
	dups := 0
	for _, u := range f.order {
		r := f.byUser[u]
		out := r.result
		if !r.final() {
			out = &messages.RecipientResult{User: u, Outcome: messages.Outcome_OUTCOME_PENDING,
				Bindings: r.result.Bindings}
		}
		switch out.Outcome {
		case messages.Outcome_OUTCOME_PUSHED:
			res.Pushed++
		case messages.Outcome_OUTCOME_FAILED:
			res.Failed++
		case messages.Outcome_OUTCOME_PENDING:
			res.Pending++
		case messages.Outcome_OUTCOME_DUPLICATE:
			res.Skipped++
			dups++
		default:
			res.Skipped++
		}
		res.Results = append(res.Results, out)
	}
	res.Duplicate = dups > 0 && dups == len(f.order)
	f.reply(ctx, res)
}

func (f *fanout) reply(ctx actor.Context, res *messages.PushResult) {
	if f.replyTo != nil {
		ctx.Send(f.replyTo, res)
	}
}

// onTimer answers at the deadline with what is known, then lingers so late
// outcomes are still counted, and stops when the linger ends.
func (f *fanout) onTimer(ctx actor.Context) {
	if !f.answered {
		f.answer(ctx)
		f.timer.Reset(f.deps.Linger)
		return
	}
	ctx.Stop(ctx.Self())
}

func (f *fanout) schedule(ctx actor.Context, after time.Duration) *time.Timer {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	return time.AfterFunc(after, func() { root.Send(self, timerFired{}) })
}
