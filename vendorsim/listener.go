package vendorsim

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// handshakeTimeout bounds a TLS handshake so a silent client cannot hold an
// accept goroutine.
const handshakeTimeout = 5 * time.Second

// conn is one accepted vendor connection; handlers find it in the request
// context and keep per-connection vendor state in it.
type conn struct {
	id  uint64
	raw *tls.Conn

	mu   sync.Mutex
	apns apnsConnState // guarded by mu
}

type connKey struct{}

// connFrom returns the connection a request arrived on.
func connFrom(ctx context.Context) *conn {
	c, _ := ctx.Value(connKey{}).(*conn)
	return c
}

// h2Listener serves one vendor over TLS with HTTP/2 only. Each connection
// gets its own ServeConn so handlers can keep per-connection state.
type h2Listener struct {
	vendor  string
	ln      net.Listener
	tlsConf *tls.Config
	h2      *http2.Server
	base    *http.Server // only carries the graceful-shutdown hook
	handler http.Handler
	rec     *recorder
	log     *slog.Logger
	nextID  *atomic.Uint64 // shared by all listeners of a Sim

	mu     sync.Mutex
	conns  map[*conn]struct{} // open connections; guarded by mu
	closed bool               // guarded by mu
	wg     sync.WaitGroup     // accept loop and connection goroutines
}

func newH2Listener(vendor string, ln net.Listener, tlsConf *tls.Config, maxStreams uint32,
	handler http.Handler, rec *recorder, log *slog.Logger, nextID *atomic.Uint64,
) (*h2Listener, error) {
	l := &h2Listener{
		vendor:  vendor,
		ln:      ln,
		tlsConf: tlsConf,
		h2:      &http2.Server{MaxConcurrentStreams: maxStreams},
		base:    &http.Server{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)},
		handler: handler,
		rec:     rec,
		log:     log,
		nextID:  nextID,
		conns:   map[*conn]struct{}{},
	}
	if err := http2.ConfigureServer(l.base, l.h2); err != nil {
		return nil, err
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

func (l *h2Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		raw, err := l.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.log.Warn("accept failed", "vendor", l.vendor, "err", err)
			}
			return
		}
		c := &conn{id: l.nextID.Add(1), raw: tls.Server(raw, l.tlsConf)}
		if !l.track(c) {
			raw.Close()
			return
		}
		go l.serve(c)
	}
}

// track registers c unless the listener is closing; the caller owns a
// wg slot for c when it returns true.
func (l *h2Listener) track(c *conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	return true
}

func (l *h2Listener) serve(c *conn) {
	defer l.wg.Done()
	defer func() {
		c.raw.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}()

	// APNs speaks HTTP/2 only: a client that did not pick h2 by ALPN is
	// dropped after the handshake.
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := c.raw.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.log.Debug("tls handshake failed", "vendor", l.vendor, "conn", c.id, "err", err)
		return
	}
	if c.raw.ConnectionState().NegotiatedProtocol != http2.NextProtoTLS {
		l.log.Debug("client did not offer h2", "vendor", l.vendor, "conn", c.id)
		return
	}

	l.rec.update(l.vendor, func(vc *VendorCounters) { vc.Connections++ })
	l.log.Debug("connection opened", "vendor", l.vendor, "conn", c.id)
	l.h2.ServeConn(c.raw, &http2.ServeConnOpts{
		Context:    context.WithValue(context.Background(), connKey{}, c),
		BaseConfig: l.base,
		Handler:    l.handler,
	})
}

// close stops accepting, asks open connections to go away (GOAWAY), gives
// them grace to finish, then closes what is left and waits for every
// goroutine.
func (l *h2Listener) close(grace time.Duration) {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = l.base.Shutdown(ctx) // runs the http2 graceful-shutdown hook
	l.rec.update(l.vendor, func(vc *VendorCounters) { vc.GoAways += uint64(l.openConns()) })
	for l.openConns() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}

	l.mu.Lock()
	for c := range l.conns {
		c.raw.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *h2Listener) openConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
