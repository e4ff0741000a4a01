package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	hcluster "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/messages"
)

// Pauses between attempts: exponential from backoffBase, capped at
// backoffMax, with up to half of each pause added at random so clients
// that failed together do not retry together.
const (
	backoffBase = 100 * time.Millisecond
	backoffMax  = 2 * time.Second
)

// userKind is the grain kind of users; identity "<appkey>/<user>".
const userKind = "user"

// errRetry marks an attempt whose failure another node may not share:
// no answer in time, a transport failure, or an "unavailable" answer.
var errRetry = errors.New("attempt failed")

// Push hands m to Herald and returns its result once every recipient has
// a final outcome, or with Pending > 0 when the node's deadline passed
// first. An unanswered attempt is resubmitted, with the same msg_id, to
// the next node, up to Retries times. m is not modified.
func (c *Client) Push(ctx context.Context, m *messages.PushMessage) (*messages.PushResult, error) {
	if err := validatePush(m); err != nil {
		return nil, err
	}
	var res *messages.PushResult
	err := c.retry(ctx, "push "+m.GetMsgId(), func(ctx context.Context, cn *conn) error {
		res = nil
		addr, ok := cn.pick()
		if !ok {
			return fmt.Errorf("%w: %w", errRetry, ErrNoMembers)
		}
		reply, err := request(ctx, cn, actor.NewPID(addr, IngestActor), m, c.cfg.Timeout)
		if err != nil {
			return fmt.Errorf("push to %s: %w", addr, err)
		}
		r, ok := reply.(*messages.PushResult)
		if !ok {
			return fmt.Errorf("push to %s: unexpected reply %T", addr, reply)
		}
		res = r
		return remoteError(r.GetError())
	})
	if errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	return res, err
}

// Presence reports a device state change to the user's grain and returns
// the grain's answer. The user id is lower-cased; ev is not modified.
func (c *Client) Presence(ctx context.Context,
	ev *messages.PresenceEvent) (*messages.PresenceReply, error) {
	if err := validatePresence(ev); err != nil {
		return nil, err
	}
	ev = proto.Clone(ev).(*messages.PresenceEvent)
	ev.User = strings.ToLower(ev.User)
	identity := ev.AppKey + "/" + ev.User

	var res *messages.PresenceReply
	err := c.retry(ctx, "presence "+identity, func(ctx context.Context, cn *conn) error {
		res = nil
		reply, err := grainRequest(ctx, cn, identity, ev, c.cfg.Timeout)
		if err != nil {
			return fmt.Errorf("presence to %s: %w", identity, err)
		}
		r, ok := reply.(*messages.PresenceReply)
		if !ok {
			return fmt.Errorf("presence to %s: unexpected reply %T", identity, reply)
		}
		res = r
		return remoteError(r.GetError())
	})
	if errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	return res, err
}

// retry runs attempt once and then up to Retries more times while it
// fails with errRetry, pausing between attempts. It returns the first
// final error, or ErrUnavailable wrapping the last attempt's error.
func (c *Client) retry(ctx context.Context, what string,
	attempt func(context.Context, *conn) error) error {
	var last error
	for n := 0; n <= c.cfg.Retries; n++ {
		if n > 0 {
			c.logger.Debug("resubmitting", slog.String("what", what),
				slog.Int("attempt", n+1), slog.Any("error", last))
			if err := pause(ctx, n); err != nil {
				return fmt.Errorf("%s: %w (last attempt: %w)", what, err, last)
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		cn, err := c.conn()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if cn == nil {
			last = fmt.Errorf("%w: reconnecting", errRetry)
			continue
		}
		last = attempt(ctx, cn)
		if last == nil || !errors.Is(last, errRetry) {
			return last
		}
	}
	return fmt.Errorf("%w: %s: %d attempts: %w", ErrUnavailable, what, c.cfg.Retries+1, last)
}

// pause waits before attempt n (n ≥ 1) or until ctx ends.
func pause(ctx context.Context, n int) error {
	d := min(backoffBase<<(n-1), backoffMax)
	d += rand.N(d/2 + 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attemptTimeout is the per-attempt timeout, shortened to ctx's deadline.
func attemptTimeout(ctx context.Context, timeout time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	return max(timeout, time.Millisecond)
}

// request sends msg to pid and waits for the reply, the timeout, or ctx.
// Every failure to get an answer is retryable.
func request(ctx context.Context, cn *conn, pid *actor.PID, msg proto.Message,
	timeout time.Duration) (any, error) {
	f := cn.system.Root.RequestFuture(pid, msg, attemptTimeout(ctx, timeout))
	return await(ctx, func() (any, error) { return f.Result() })
}

// grainRequest sends msg to a grain through the cluster's placement.
func grainRequest(ctx context.Context, cn *conn, identity string, msg proto.Message,
	timeout time.Duration) (any, error) {
	t := attemptTimeout(ctx, timeout)
	return await(ctx, func() (any, error) {
		// One lookup and request per attempt, bounded by the attempt's
		// timeout; retry owns resubmission.
		actx, cancel := context.WithTimeout(ctx, t)
		defer cancel()
		return hcluster.Request(actx, cn.cluster, identity, userKind, msg)
	})
}

// await runs wait in a goroutine, which ends by its own timeout, and
// returns its outcome or ctx's error, whichever comes first.
func await(ctx context.Context, wait func() (any, error)) (any, error) {
	type outcome struct {
		reply any
		err   error
	}
	ch := make(chan outcome, 1)
	go func() {
		r, err := wait()
		ch <- outcome{r, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case o := <-ch:
		if o.err != nil {
			return nil, fmt.Errorf("%w: %w", errRetry, o.err)
		}
		if o.reply == nil {
			return nil, fmt.Errorf("%w: empty reply", errRetry)
		}
		return o.reply, nil
	}
}

// remoteError turns a reply's error into a Go error; unavailable and
// overloaded are retryable, since another node or a later attempt may
// succeed and resubmission is deduplicated.
func remoteError(e *messages.Error) error {
	if e == nil {
		return nil
	}
	re := &RemoteError{Code: e.GetCode(), Field: e.GetField(), Description: e.GetDescription()}
	switch re.Code {
	case messages.CodeUnavailable, messages.CodeOverloaded:
		return fmt.Errorf("%w: %w", errRetry, re)
	}
	return re
}

// appName is an org or app name (SPEC.md §11.10).
var appName = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// validAppKey reports whether k is "org#app".
func validAppKey(k string) bool {
	org, app, ok := strings.Cut(k, "#")
	return ok && appName.MatchString(org) && appName.MatchString(app)
}

func validatePush(m *messages.PushMessage) error {
	if m == nil {
		return &InputError{Field: "message", Reason: "nil"}
	}
	if m.GetMsgId() == "" {
		return &InputError{Field: "msg_id", Reason: "required"}
	}
	if !validAppKey(m.GetAppKey()) {
		return &InputError{Field: "app_key", Reason: `want "org#app"`}
	}
	if e := messages.ValidatePushMessage(m); e != nil {
		return &InputError{Field: e.GetField(), Reason: e.GetDescription()}
	}
	return nil
}

func validatePresence(ev *messages.PresenceEvent) error {
	if ev == nil {
		return &InputError{Field: "event", Reason: "nil"}
	}
	if !validAppKey(ev.GetAppKey()) {
		return &InputError{Field: "app_key", Reason: `want "org#app"`}
	}
	if e := messages.ValidatePresence(ev); e != nil {
		return &InputError{Field: e.GetField(), Reason: e.GetDescription()}
	}
	return nil
}
