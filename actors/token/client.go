package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/messages"
)

// ErrRefused wraps an error the token grain answered; the text is its
// description.
var ErrRefused = errors.New("token grain refused")

// Client sends requests to token grains. It waits, so use it outside any
// grain's mailbox (a goroutine, the REST layer, a poller). Safe for
// concurrent use.
type Client struct {
	cluster *cluster.Cluster
	timeout time.Duration
}

// NewClient returns a client that waits at most timeout per request, or
// less when the request's context ends sooner.
func NewClient(c *cluster.Cluster, timeout time.Duration) *Client {
	return &Client{cluster: c, timeout: timeout}
}

// Claim gives the pair to c's user and device; see the package comment.
func (c *Client) Claim(ctx context.Context, appKey string,
	m *messages.TokenClaim) (*messages.TokenClaimReply, error) {

	reply, err := request[*messages.TokenClaimReply](ctx, c, appKey, m.NotifierName,
		m.DeviceToken, m)
	if err != nil {
		return nil, err
	}
	return reply, refused(reply.Error)
}

// Release gives the pair up if m's user still owns it under m's stamp.
func (c *Client) Release(ctx context.Context, appKey string,
	m *messages.TokenRelease) (bool, error) {

	reply, err := request[*messages.TokenReleaseReply](ctx, c, appKey, m.NotifierName,
		m.DeviceToken, m)
	if err != nil {
		return false, err
	}
	return reply.Released, refused(reply.Error)
}

// Settle reports the stale users of m's claim done.
func (c *Client) Settle(ctx context.Context, appKey string, m *messages.TokenSettle) error {
	reply, err := request[*messages.TokenSettleReply](ctx, c, appKey, m.NotifierName,
		m.DeviceToken, m)
	if err != nil {
		return err
	}
	return refused(reply.Error)
}

// Owner returns the pair's register value, nil if never claimed.
func (c *Client) Owner(ctx context.Context, appKey, notifier,
	token string) (*messages.TokenOwner, error) {

	reply, err := request[*messages.TokenOwnerReply](ctx, c, appKey, notifier, token,
		&messages.GetTokenOwner{NotifierName: notifier, DeviceToken: token})
	if err != nil {
		return nil, err
	}
	return reply.Owner, refused(reply.Error)
}

// request sends m to the pair's grain and expects an R back.
func request[R any](ctx context.Context, c *Client, appKey, notifier, token string,
	m any) (R, error) {

	var zero R
	timeout := c.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return zero, fmt.Errorf("request token grain: %w", context.DeadlineExceeded)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := membership.Request(ctx, c.cluster, Identity(appKey, notifier, token), Kind, m)
	if err != nil {
		return zero, fmt.Errorf("request token grain: %w", err)
	}
	r, ok := reply.(R)
	if !ok {
		return zero, fmt.Errorf("request token grain: unexpected reply %T", reply)
	}
	return r, nil
}

func refused(e *messages.Error) error {
	if e == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", ErrRefused, e.Code, e.Description)
}
