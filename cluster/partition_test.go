package cluster

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// partition is a fault-injecting memberlist transport: while cut, the
// node it wraps neither sends nor receives gossip, as if its network
// cable were pulled. Everything else is the real network transport.
type partition struct {
	cut atomic.Bool
}

func newPartition() *partition { return &partition{} }

func (p *partition) set(cut bool) { p.cut.Store(cut) }

var errCut = errors.New("network partitioned (test)")

// wrap installs the partition around inner; used as Config.wrapTransport.
func (p *partition) wrap(inner memberlist.Transport) memberlist.Transport {
	t := &cutTransport{
		Transport: inner,
		p:         p,
		packets:   make(chan *memberlist.Packet),
		streams:   make(chan net.Conn),
		stop:      make(chan struct{}),
	}
	t.wg.Add(2)
	go t.forwardPackets()
	go t.forwardStreams()
	return t
}

type cutTransport struct {
	memberlist.Transport
	p *partition

	// packets and streams carry what the inner transport received while
	// not cut; stop ends the forwarding goroutines on Shutdown.
	packets chan *memberlist.Packet
	streams chan net.Conn
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

func (t *cutTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.p.cut.Load() {
		return time.Now(), nil // lost on the wire
	}
	return t.Transport.WriteTo(b, addr)
}

func (t *cutTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.p.cut.Load() {
		return nil, errCut
	}
	return t.Transport.DialTimeout(addr, timeout)
}

func (t *cutTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *cutTransport) StreamCh() <-chan net.Conn { return t.streams }

func (t *cutTransport) forwardPackets() {
	defer t.wg.Done()
	for {
		select {
		case <-t.stop:
			return
		case pkt := <-t.Transport.PacketCh():
			if t.p.cut.Load() {
				continue
			}
			select {
			case t.packets <- pkt:
			case <-t.stop:
				return
			}
		}
	}
}

func (t *cutTransport) forwardStreams() {
	defer t.wg.Done()
	for {
		select {
		case <-t.stop:
			return
		case conn := <-t.Transport.StreamCh():
			if t.p.cut.Load() {
				conn.Close()
				continue
			}
			select {
			case t.streams <- conn:
			case <-t.stop:
				conn.Close()
				return
			}
		}
	}
}

func (t *cutTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.stop)
		t.wg.Wait()
		err = t.Transport.Shutdown()
	})
	return err
}
