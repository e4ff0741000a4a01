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

	// goAway, when set, starts a graceful close of this connection (one
	// GOAWAY, counted by whoever sends it); guarded by mu. Connections of
	// the listener's shared http2.Server leave it nil.
	goAway func()
}

// setGoAway installs the connection's graceful-close hook.
func (c *conn) setGoAway(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.goAway = fn
}

func (c *conn) goAwayHook() func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.goAway
}

// connServer is a vendor handler that serves some HTTP/2 connections
// with its own loop (the APNs realism loop). serveConn returns false,
// without touching c, to leave c to the listener's http2.Server.
type connServer interface {
	serveConn(c *conn) bool
}

// connKnobs is a vendor handler whose net/http connections follow the
// run-time fault knobs: the stream limit to announce and goaway_every
// (0 = off), read when a connection opens.
type connKnobs interface {
	connKnobs() (maxStreams uint32, goAwayEvery int)
}

type connKey struct{}

// connFrom returns the connection a request arrived on.
func connFrom(ctx context.Context) *conn {
	c, _ := ctx.Value(connKey{}).(*conn)
	return c
}

// vendorListener serves one vendor over TLS: HTTP/2, and HTTP/1.1 too when
// the vendor offers it. Each HTTP/2 connection gets its own ServeConn so
// handlers can keep per-connection state; HTTP/1.1 connections are handed
// to one http.Server through a channel-fed listener.
type vendorListener struct {
	vendor  string
	ln      net.Listener
	tlsConf *tls.Config
	h2      *http2.Server
	base    *http.Server // only carries the graceful-shutdown hook
	handler http.Handler
	rec     *recorder
	log     *slog.Logger
	nextID  *atomic.Uint64 // shared by all listeners of a Sim

	// h1 and h1Conns serve HTTP/1.1 clients; nil for HTTP/2-only vendors.
	h1      *http.Server
	h1Conns *connQueue

	mu     sync.Mutex
	conns  map[*conn]struct{} // open connections; guarded by mu
	closed bool               // guarded by mu
	wg     sync.WaitGroup     // accept loop and connection goroutines
}

func newVendorListener(vendor string, ln net.Listener, tlsConf *tls.Config,
	maxStreams uint32, http1 bool, handler http.Handler, rec *recorder, log *slog.Logger,
	nextID *atomic.Uint64,
) (*vendorListener, error) {
	tlsConf = tlsConf.Clone()
	tlsConf.NextProtos = []string{http2.NextProtoTLS}
	if http1 {
		tlsConf.NextProtos = append(tlsConf.NextProtos, "http/1.1")
	}
	l := &vendorListener{
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
	if http1 {
		l.startHTTP1()
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

func (l *vendorListener) acceptLoop() {
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
func (l *vendorListener) track(c *conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	return true
}

func (l *vendorListener) serve(c *conn) {
	defer l.wg.Done()
	defer func() {
		c.raw.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := c.raw.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.log.Debug("tls handshake failed", "vendor", l.vendor, "conn", c.id, "err", err)
		return
	}

	// HTTP/2-only vendors (APNs, FCM) drop a client that did not pick h2
	// by ALPN; the others serve it HTTP/1.1.
	h2 := c.raw.ConnectionState().NegotiatedProtocol == http2.NextProtoTLS
	if !h2 && l.h1 == nil {
		l.log.Debug("client did not offer h2", "vendor", l.vendor, "conn", c.id)
		return
	}
	l.rec.update(l.vendor, func(vc *VendorCounters) { vc.Connections++ })
	l.log.Debug("connection opened", "vendor", l.vendor, "conn", c.id, "h2", h2)
	if !h2 {
		l.serveHTTP1(c)
		return
	}
	if cs, ok := l.handler.(connServer); ok && cs.serveConn(c) {
		return
	}
	if k, ok := l.handler.(connKnobs); ok {
		l.serveWithKnobs(c, k)
		return
	}
	l.h2.ServeConn(c.raw, &http2.ServeConnOpts{
		Context:    context.WithValue(context.Background(), connKey{}, c),
		BaseConfig: l.base,
		Handler:    l.handler,
	})
}

// serveWithKnobs serves c with an http2.Server of its own, so it can
// announce the stream limit in force now and be sent GOAWAY alone: after
// goaway_every requests, or when the listener closes.
func (l *vendorListener) serveWithKnobs(c *conn, k connKnobs) {
	streams, every := k.connKnobs()
	h2 := &http2.Server{MaxConcurrentStreams: streams}
	base := &http.Server{ErrorLog: l.base.ErrorLog}
	if err := http2.ConfigureServer(base, h2); err != nil {
		l.log.Warn("configure http2 server", "vendor", l.vendor, "conn", c.id, "err", err)
		return
	}

	var once sync.Once
	goAway := func() {
		once.Do(func() {
			l.rec.update(l.vendor, func(vc *VendorCounters) { vc.GoAways++ })
			// Shutdown returns at once: base tracks no connections; its
			// hook makes h2 send GOAWAY and close after in-flight streams.
			go func() { _ = base.Shutdown(context.Background()) }()
		})
	}
	c.setGoAway(goAway)

	handler := l.handler
	if every > 0 {
		var requests atomic.Int64
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) == int64(every) {
				goAway()
			}
			l.handler.ServeHTTP(w, r)
		})
	}
	h2.ServeConn(c.raw, &http2.ServeConnOpts{
		Context:    context.WithValue(context.Background(), connKey{}, c),
		BaseConfig: base,
		Handler:    handler,
	})
}

// close stops accepting, asks open connections to go away (GOAWAY), gives
// them grace to finish, then closes what is left and waits for every
// goroutine.
func (l *vendorListener) close(grace time.Duration) {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.ln.Close()

	// Connections with a GOAWAY hook of their own send and count it; the
	// shared http2.Server's are counted here.
	shared := 0
	for _, goAway := range l.goAwayHooks() {
		if goAway == nil {
			shared++
			continue
		}
		goAway()
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = l.base.Shutdown(ctx) // runs the http2 graceful-shutdown hook
	if l.h1 != nil {
		_ = l.h1.Shutdown(ctx) // closes idle HTTP/1.1 conns, waits for busy ones
	}
	l.rec.update(l.vendor, func(vc *VendorCounters) { vc.GoAways += uint64(shared) })
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

// goAwayHooks returns the GOAWAY hook of every open connection, nil for
// those of the shared http2.Server.
func (l *vendorListener) goAwayHooks() []func() {
	l.mu.Lock()
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()

	hooks := make([]func(), 0, len(conns))
	for _, c := range conns {
		hooks = append(hooks, c.goAwayHook())
	}
	return hooks
}

func (l *vendorListener) openConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
