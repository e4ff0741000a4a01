package vendorsim

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// startHTTP1 runs the HTTP/1.1 server of a vendor that offers it. Its
// connections arrive already handshaken through h1Conns.
func (l *vendorListener) startHTTP1() {
	l.h1Conns = newConnQueue(l.ln.Addr())
	l.h1 = &http.Server{
		Handler:           l.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, nc net.Conn) context.Context {
			if c := l.h1Conns.owner(nc); c != nil {
				return context.WithValue(ctx, connKey{}, c)
			}
			return ctx
		},
		ConnState: func(nc net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				l.h1Conns.ended(nc)
			}
		},
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		_ = l.h1.Serve(l.h1Conns)
	}()
}

// serveHTTP1 hands c to the HTTP/1.1 server and returns when the server
// is done with it.
func (l *vendorListener) serveHTTP1(c *conn) {
	done, ok := l.h1Conns.push(c)
	if !ok {
		return
	}
	<-done
}

// connQueue is a net.Listener whose connections are pushed in by the
// vendor listener after the TLS handshake.
type connQueue struct {
	addr   net.Addr
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once

	mu    sync.Mutex
	conns map[net.Conn]h1Conn // guarded by mu
}

type h1Conn struct {
	c    *conn
	done chan struct{}
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{}),
		conns: map[net.Conn]h1Conn{}}
}

// push offers c to the server; done closes when the server ends it.
func (q *connQueue) push(c *conn) (<-chan struct{}, bool) {
	hc := h1Conn{c: c, done: make(chan struct{})}
	q.mu.Lock()
	q.conns[c.raw] = hc
	q.mu.Unlock()

	select {
	case q.ch <- c.raw:
		return hc.done, true
	case <-q.closed:
		q.ended(c.raw)
		return nil, false
	}
}

func (q *connQueue) owner(nc net.Conn) *conn {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.conns[nc].c
}

// ended releases the goroutine waiting in serveHTTP1.
func (q *connQueue) ended(nc net.Conn) {
	q.mu.Lock()
	hc, ok := q.conns[nc]
	delete(q.conns, nc)
	q.mu.Unlock()
	if ok {
		close(hc.done)
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.closed) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
