package apns

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"
)

// Connection pool of VENDORS.md §1.3, §2.1 and §3.
const (
	// MinConns is how many connections a notifier keeps open.
	MinConns = 2
	// MaxConns is how many it opens while every one is at its stream
	// limit.
	MaxConns = 8
	// growAfter is how long every connection must stay full before
	// another is dialed, so a burst or the 1-stream start of a token
	// connection does not open all of them.
	growAfter = 500 * time.Millisecond
	// connIdleTimeout closes connections beyond MinConns that carried
	// nothing this long.
	connIdleTimeout = 60 * time.Second
	// reconnectMin and reconnectMax bound the reconnect backoff, which
	// doubles per failed dial with ±20 % jitter.
	reconnectMin = time.Second
	reconnectMax = 30 * time.Second
	// maxResends is how often one push is resent at once on another
	// connection after the server refused it unprocessed (§1.5).
	maxResends = 3
)

// ErrReconnectBackoff: no connection is open and the next dial waits for
// the reconnect backoff. Retryable.
var ErrReconnectBackoff = errors.New("apns: no connection, reconnect backoff")

// poolConn is one HTTP/2 connection and the apns2 client over it.
type poolConn struct {
	cc   *http2.ClientConn
	push *apns2.Client
	gen  uint64 // the pool's token generation it was made with

	// Guarded by pool.mu.
	busy      int       // requests in flight on it
	idleSince time.Time // when busy last fell to 0
	retired   bool      // takes no new requests; closes when drained
}

// pool is one notifier's APNs connections: MinConns to MaxConns, each its
// own apns2 client, picked by fewest requests in flight. Requests that a
// connection leaves unprocessed (REFUSED_STREAM, above a GOAWAY's
// last-stream-id) are resent on another by the caller.
type pool struct {
	host     string
	tlsConf  *tls.Config
	timeout  time.Duration
	newToken func() *token.Token
	log      *slog.Logger
	now      func() time.Time
	// idleAfter is connIdleTimeout; tests shorten it.
	idleAfter time.Duration

	// saturatedSince is when the delivery actor's in-flight cap became
	// full, in unix ns; 0 while it is not.
	saturatedSince atomic.Int64

	// ctx bounds dials; cancelled by close.
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards the fields below.
	mu    sync.Mutex
	conns []*poolConn
	tok   *token.Token // the JWT holder of new connections; nil for p12
	gen   uint64       // counts token renewals
	// dialDone is closed when the dial in progress ends; nil when none.
	dialDone  chan struct{}
	failures  int // dials failed in a row
	nextDial  time.Time
	lastErr   error
	fullSince time.Time // when every connection became full; zero if not
	// pruneTimer closes extra connections that stay idle; nil when none
	// is set.
	pruneTimer *time.Timer
	closed     bool
}

func newPool(host string, tlsConf *tls.Config, timeout time.Duration,
	newToken func() *token.Token, log *slog.Logger, now func() time.Time) *pool {

	ctx, cancel := context.WithCancel(context.Background())
	return &pool{host: host, tlsConf: tlsConf, timeout: timeout, newToken: newToken,
		log: log, now: now, idleAfter: connIdleTimeout, ctx: ctx, cancel: cancel,
		tok: newToken()}
}

// acquire picks the connection for one request, not avoid when another
// is open, dialing when the pool is below MinConns or has stayed full; it
// waits only when no connection is open. release must follow.
func (p *pool) acquire(ctx context.Context, avoid *poolConn) (*poolConn, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		now := p.now()
		p.pruneLocked(now)
		c, usable, full := p.pickLocked(avoid)
		switch {
		case !full:
			p.fullSince = time.Time{}
		case p.fullSince.IsZero():
			p.fullSince = now
		}
		grow := usable < MaxConns && (full && now.Sub(p.fullSince) >= growAfter ||
			p.saturatedFor(now) >= growAfter)
		if (usable < MinConns || grow) && p.dialDone == nil && !now.Before(p.nextDial) {
			p.startDialLocked()
		}
		if c != nil {
			c.busy++
			p.mu.Unlock()
			return c, nil
		}

		wait := p.dialDone
		lastErr := p.lastErr
		p.mu.Unlock()
		if wait == nil {
			return nil, fmt.Errorf("%w: %w", ErrReconnectBackoff, lastErr)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// saturated records whether the caller's in-flight cap is full: while it
// stays so, the pool grows (VENDORS.md §2.1).
func (p *pool) saturated(full bool, now time.Time) {
	switch {
	case !full:
		p.saturatedSince.Store(0)
	case p.saturatedSince.Load() == 0:
		p.saturatedSince.Store(now.UnixNano())
	}
}

// saturatedFor is how long the caller's cap has been full.
func (p *pool) saturatedFor(now time.Time) time.Duration {
	since := p.saturatedSince.Load()
	if since == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, since))
}

// release ends one request on c.
func (p *pool) release(c *poolConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.busy--
	if c.busy == 0 {
		c.idleSince = p.now()
		if c.retired {
			p.pruneLocked(c.idleSince)
		}
		p.schedulePruneLocked()
	}
}

// schedulePruneLocked arms a timer that closes the connections beyond
// MinConns once they have been idle for idleAfter, even if no push comes.
func (p *pool) schedulePruneLocked() {
	if p.pruneTimer != nil || p.closed || len(p.conns) <= MinConns {
		return
	}
	p.pruneTimer = time.AfterFunc(p.idleAfter, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.pruneTimer = nil
		if p.closed {
			return
		}
		p.pruneLocked(p.now())
		p.schedulePruneLocked()
	})
}

// pickLocked returns the usable connection with the most free streams
// (the fewest requests in flight when limits are equal), avoiding avoid
// when another is open; how many are usable; and whether all of them are
// at their stream limit (true when none is open).
func (p *pool) pickLocked(avoid *poolConn) (best *poolConn, usable int, full bool) {
	full = true
	bestFree := 0
	for _, c := range p.conns {
		if c.retired {
			continue
		}
		usable++
		free := int(c.cc.State().MaxConcurrentStreams) - c.busy
		if free > 0 {
			full = false
		}
		if c == avoid {
			free = math.MinInt32 // only if nothing else is open
		}
		if best == nil || free > bestFree {
			best, bestFree = c, free
		}
	}
	return best, usable, full
}

// pruneLocked retires connections the server closed or sent GOAWAY on,
// and extra connections idle too long; retired ones close once drained.
func (p *pool) pruneLocked(now time.Time) {
	kept := p.conns[:0]
	usable := 0
	for _, c := range p.conns {
		if !c.retired && !c.cc.CanTakeNewRequest() {
			c.retired = true
		}
		if !c.retired {
			usable++
		}
		if !c.retired && usable > MinConns && c.busy == 0 &&
			now.Sub(c.idleSince) >= p.idleAfter {
			c.retired = true
			usable--
			p.log.Debug("apns idle connection closed")
		}
		if c.retired && c.busy == 0 {
			go c.cc.Close()
			continue
		}
		kept = append(kept, c)
	}
	clear(p.conns[len(kept):])
	p.conns = kept
}

// startDialLocked dials one connection in the background.
func (p *pool) startDialLocked() {
	done := make(chan struct{})
	p.dialDone = done
	tok, gen := p.tok, p.gen
	go func() {
		c, err := p.dial(tok, gen)

		p.mu.Lock()
		defer p.mu.Unlock()
		p.dialDone = nil
		close(done)
		switch {
		case err != nil && p.closed:
		case err != nil:
			p.failures++
			p.lastErr = err
			p.nextDial = p.now().Add(reconnectDelay(p.failures, rand.Float64))
			p.log.Warn("apns connect failed", "failures", p.failures, "err", err)
		case p.closed || c.gen != p.gen:
			c.cc.Close() // closed, or its JWT was refused meanwhile
		default:
			p.failures, p.lastErr = 0, nil
			c.idleSince = p.now()
			p.conns = append(p.conns, c)
			p.log.Debug("apns connection opened", "open", len(p.conns))
		}
	}()
}

// reconnectDelay is the wait after the n-th failed dial in a row: 1 s
// doubling to 30 s, ±20 % (VENDORS.md §1.3).
func reconnectDelay(n int, rnd func() float64) time.Duration {
	d := reconnectMin
	for i := 1; i < n && d < reconnectMax; i++ {
		d *= 2
	}
	d = min(d, reconnectMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rnd()))
}

// dial opens one connection and waits for the server's SETTINGS (the
// PING answer comes after them), so its stream limit is known before the
// first request.
func (p *pool) dial(tok *token.Token, gen uint64) (*poolConn, error) {
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout+handshakeTimeout+pingTimeout)
	defer cancel()

	addr, err := hostPort(p.host)
	if err != nil {
		return nil, err
	}
	tr := &http2.Transport{
		TLSClientConfig:            p.tlsConf,
		StrictMaxConcurrentStreams: true,
		ReadIdleTimeout:            readIdleTimeout,
		PingTimeout:                pingTimeout,
	}
	conf := p.tlsConf.Clone()
	conf.ServerName, _, _ = net.SplitHostPort(addr)
	conf.NextProtos = []string{http2.NextProtoTLS}
	raw, err := dialTLS(ctx, "tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	cc, err := tr.NewClientConn(raw)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("apns http2 setup: %w", err)
	}
	if err := cc.Ping(ctx); err != nil {
		cc.Close()
		return nil, fmt.Errorf("apns first ping: %w", err)
	}

	return &poolConn{cc: cc, gen: gen, push: &apns2.Client{
		Host:       p.host,
		Token:      tok,
		HTTPClient: &http.Client{Transport: &answerReader{base: cc}},
	}}, nil
}

// hostPort gives the dial address of a base URL (https, port 443 unless
// named).
func hostPort(base string) (string, error) {
	rest, ok := strings.CutPrefix(base, "https://")
	if !ok {
		return "", fmt.Errorf("apns endpoint %q is not https", base)
	}
	host, _, _ := strings.Cut(rest, "/")
	if !strings.Contains(host, ":") || strings.HasSuffix(host, "]") {
		host += ":443"
	}
	return host, nil
}

// retire stops new requests on c after the server made it unusable (an
// auth refusal that kills the connection). With renew, a new JWT is
// minted for later connections unless one was since c was made.
func (p *pool) retire(c *poolConn, renew bool) {
	if c == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c.retired = true
	if !renew || c.gen != p.gen || p.closed {
		return
	}

	// Every connection of the refused JWT drains: later requests go to
	// connections made with the new one.
	for _, o := range p.conns {
		if o.gen == c.gen {
			o.retired = true
		}
	}
	p.tok = p.newToken()
	if p.tok != nil {
		if _, err := p.tok.Generate(); err != nil {
			p.log.Warn("apns jwt mint failed", "err", err)
		}
	}
	p.gen++
	p.log.Info("apns connection renewed after auth refusal")
}

// streams is the sum of the open connections' stream limits; 0 when none
// is open.
func (p *pool) streams() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.conns {
		if !c.retired {
			n += int(c.cc.State().MaxConcurrentStreams)
		}
	}
	return n
}

// close stops dials and closes connections as their requests end.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.cancel()
	if p.pruneTimer != nil {
		p.pruneTimer.Stop()
	}
	for _, c := range p.conns {
		c.retired = true
		cc := c.cc
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), p.timeout+time.Second)
			defer cancel()
			if cc.Shutdown(ctx) != nil {
				cc.Close()
			}
		}()
	}
	p.conns = nil
}

// unprocessed reports a request error after which the server has not
// acted on the request: a REFUSED_STREAM reset, a stream above a GOAWAY's
// last-stream-id, or a connection that could take no more requests. Such
// a request is resent at once on another connection (VENDORS.md §1.5).
func unprocessed(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		return se.Code == http2.ErrCodeRefusedStream
	}
	// x/net/http2 does not export these errors; their texts are stable.
	msg := err.Error()
	return strings.Contains(msg, "received Server's graceful shutdown GOAWAY") ||
		strings.Contains(msg, "client conn not usable") ||
		strings.Contains(msg, "client conn could not be established")
}
