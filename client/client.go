// Package client is the Go client an IM core embeds to hand messages and
// device presence to Herald over Proto.Actor remote.
//
// The client joins the Herald cluster through gossip as a cluster client:
// it learns the live nodes but never hosts grains. Push sends a message
// to the ingest actor of one node, round-robin, and resubmits it with the
// same msg_id to another node when no answer arrives; nodes deduplicate
// per (msg_id, recipient), so resubmission never pushes twice. Presence
// goes to the user's grain wherever the cluster placed it.
//
// Create one Client per process with New, share it between goroutines,
// and Close it on shutdown.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// IngestActor is the actor id of the ingest actor every Herald node runs;
// it must equal fanout.IngestName on the nodes.
const IngestActor = "herald-ingest"

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrInvalidInput: the input was rejected before anything was sent.
	// The error is an *InputError naming the field.
	ErrInvalidInput = errors.New("invalid input")

	// ErrNoMembers: no Herald node is known (New could not reach a seed).
	ErrNoMembers = errors.New("no herald node known")

	// ErrUnavailable: every attempt went unanswered or was refused as
	// unavailable. A Push may still have been processed; resubmitting it
	// with the same msg_id is safe.
	ErrUnavailable = errors.New("herald unavailable")

	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client closed")
)

// Client talks to a Herald cluster. It is safe for concurrent use.
type Client struct {
	cfg    Config
	logger *slog.Logger

	// stop is closed by Close; the supervise goroutine returns on it.
	stop chan struct{}
	done chan struct{} // closed when supervise has returned

	// mu guards cur. The conn is swapped by supervise when the provider
	// reports it dead; requests read it once per attempt.
	mu     sync.Mutex
	cur    *conn
	closed bool

	closeOnce sync.Once
}

// New joins the cluster through cfg.Seeds and returns once at least one
// Herald node is known, or fails when ctx ends first.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cn, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:    cfg,
		logger: cfg.Logger,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		cur:    cn,
	}
	go c.supervise()
	return c, nil
}

// Close leaves the cluster and releases the client's sockets. Requests in
// flight fail with ErrClosed.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		cn := c.cur
		c.cur = nil
		c.mu.Unlock()

		close(c.stop)
		<-c.done
		if cn != nil {
			cn.close()
		}
	})
	return nil
}

// conn returns the current connection, or nil while it is being
// replaced, or ErrClosed.
func (c *Client) conn() (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.cur, nil
}

// supervise replaces the conn when its provider reports that this client
// blocked a member that is still alive: Proto.Actor never unblocks a
// member id, so only a fresh actor system can reach that member again.
func (c *Client) supervise() {
	defer close(c.done)
	for {
		c.mu.Lock()
		cn := c.cur
		c.mu.Unlock()
		if cn == nil {
			return
		}
		select {
		case <-c.stop:
			return
		case <-cn.provider.Dead():
		}

		c.logger.Warn("client lost part of the cluster; reconnecting")
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
		cn.close()
		if !c.redial() {
			return
		}
	}
}

// redial dials until it succeeds or Close is called, with growing pauses.
func (c *Client) redial() bool {
	pause := backoffBase
	for {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
		go func() {
			select {
			case <-c.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		cn, err := dial(ctx, c.cfg)
		cancel()
		if err == nil {
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				cn.close()
				return false
			}
			c.cur = cn
			c.mu.Unlock()
			c.logger.Info("client reconnected to the cluster")
			return true
		}
		c.logger.Warn("reconnect to the cluster", slog.Any("error", err))
		select {
		case <-c.stop:
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, backoffMax)
	}
}

// InputError rejects input before anything is sent.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("invalid input: %s: %s", e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidInput) hold.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// RemoteError is an error a Herald node answered with (SPEC.md §11.1
// codes: illegal_argument, entity_not_found, internal, ...).
type RemoteError struct {
	Code        string
	Field       string
	Description string
}

func (e *RemoteError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("herald: %s (%s): %s", e.Code, e.Field, e.Description)
	}
	return fmt.Sprintf("herald: %s: %s", e.Code, e.Description)
}
