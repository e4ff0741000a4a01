package vendorsim

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"
)

// Shape of the no-loss runs: pushes, client goroutines, GOAWAY period and
// the attempts a push may take before the test gives up on it.
const (
	loadPushes      = 120
	loadWorkers     = 8
	loadGoAwayEvery = 10
	loadMaxAttempts = 20
)

// loadFaults is GOAWAY every loadGoAwayEvery requests and 10 % of pushes
// answered 503, each of which drops the connection's limit to 1.
func loadFaults(t *testing.T, sim *Sim) {
	t.Helper()
	fs := FaultSet{Seed: 7, Global: Faults{GoAwayEvery: loadGoAwayEvery, ErrorRate: 0.1}}
	if err := sim.SetFaults(fs); err != nil {
		t.Fatal(err)
	}
}

// loadToken is the device token of push i.
func loadToken(i int) string { return fmt.Sprintf("%064x", i) }

// pushAll sends loadPushes distinct pushes from loadWorkers goroutines,
// resending each after a 503 or a transport error until it gets 200.
// It returns how many HTTP answers the client received.
func pushAll(t *testing.T, send func(token string) (int, error)) int64 {
	t.Helper()
	var answers atomic.Int64
	next := atomic.Int64{}
	var wg sync.WaitGroup
	errs := make(chan error, loadPushes)
	for range loadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < loadPushes; i = int(next.Add(1)) - 1 {
				errs <- pushUntilDelivered(loadToken(i), send, &answers)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	return answers.Load()
}

func pushUntilDelivered(tok string, send func(string) (int, error), answers *atomic.Int64) error {
	var last error
	for range loadMaxAttempts {
		status, err := send(tok)
		if err != nil {
			last = err
			continue
		}
		answers.Add(1)
		switch status {
		case http.StatusOK:
			return nil
		case http.StatusServiceUnavailable:
			last = fmt.Errorf("503")
		default:
			return fmt.Errorf("push %s… = %d, want 200 or 503", tok[:6], status)
		}
	}
	return fmt.Errorf("push %s… not delivered in %d attempts: %v", tok[:6], loadMaxAttempts, last)
}

// checkNoLoss asserts every push was delivered exactly once, every answer
// the emulator recorded reached the client, and GOAWAYs happened.
func checkNoLoss(t *testing.T, sim *Sim, answers int64) {
	t.Helper()
	delivered := map[string]int{}
	var answered int64
	for _, r := range sim.Received(Filter{Vendor: VendorAPNs}) {
		if r.Status != 0 {
			answered++
		}
		if r.Outcome == OutcomeDelivered {
			delivered[r.Token]++
		}
	}
	for i := range loadPushes {
		if n := delivered[loadToken(i)]; n != 1 {
			t.Errorf("push %d delivered %d times, want once", i, n)
		}
	}
	if answered != answers {
		t.Errorf("emulator answered %d requests, client received %d answers", answered, answers)
	}
	c := sim.Counters()[VendorAPNs]
	if c.GoAways < loadPushes/loadGoAwayEvery || c.Connections <= loadPushes/loadGoAwayEvery {
		t.Errorf("goaways %d over %d connections, want >= %d GOAWAYs",
			c.GoAways, c.Connections, loadPushes/loadGoAwayEvery)
	}
	t.Logf("answers %d, goaways %d, connections %d, refused streams %d, peak in flight %d",
		answers, c.GoAways, c.Connections, c.RefusedStreams, c.PeakInFlight)
}

// strictTransport is an http2.Transport as vendors/apns builds it (one
// connection at a time, callers wait for a free stream) plus a connection
// pool that reserves no streams: x/net's own pool deadlocks a strict
// transport whose server announces a limit below the number of waiting
// requests (golang/go#70809), which APNs does at every connection start.
func strictTransport(t *testing.T, sim *Sim) *http2.Transport {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		StrictMaxConcurrentStreams: true}
	tr.ConnPool = &oneConnPool{tr: tr}
	t.Cleanup(func() { tr.ConnPool.(*oneConnPool).close() })
	return tr
}

// oneConnPool keeps one connection and replaces it once it can take no
// more requests (GOAWAY, closed). It never calls ReserveNewRequest.
type oneConnPool struct {
	tr *http2.Transport

	mu  sync.Mutex
	cc  *http2.ClientConn
	all []*http2.ClientConn
}

func (p *oneConnPool) GetClientConn(req *http.Request, addr string) (*http2.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cc != nil && p.cc.CanTakeNewRequest() {
		return p.cc, nil
	}
	conf := p.tr.TLSClientConfig.Clone()
	conf.NextProtos = []string{http2.NextProtoTLS}
	conn, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	cc, err := p.tr.NewClientConn(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	p.cc = cc
	p.all = append(p.all, cc)
	return cc, nil
}

func (p *oneConnPool) MarkDead(cc *http2.ClientConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cc == cc {
		p.cc = nil
	}
}

func (p *oneConnPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cc := range p.all {
		cc.Close()
	}
}

func TestAPNsConnNoLossHTTP2Transport(t *testing.T) {
	sim, creds := startSim(t)
	loadFaults(t, sim)
	c := &http.Client{Transport: strictTransport(t, sim)}
	jwtStr := freshJWT(t, creds)

	answers := pushAll(t, func(tok string) (int, error) {
		resp, err := c.Do(newPushRequest(t, sim, withToken(defaultPush(creds, jwtStr), tok)))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	})
	checkNoLoss(t, sim, answers)
}

func TestAPNs2StrictClientNoLoss(t *testing.T) {
	sim, creds := startSim(t)
	loadFaults(t, sim)
	key, err := token.AuthKeyFromBytes(creds.APNs.P8PEM)
	if err != nil {
		t.Fatalf("AuthKeyFromBytes: %v", err)
	}
	client := apns2.NewTokenClient(&token.Token{
		AuthKey: key, KeyID: creds.APNs.KeyID, TeamID: creds.APNs.TeamID,
	})
	client.HTTPClient.Transport = strictTransport(t, sim)
	client.Host = sim.Endpoint(VendorAPNs)

	answers := pushAll(t, func(tok string) (int, error) {
		res, err := client.Push(&apns2.Notification{
			DeviceToken: tok, Topic: creds.APNs.BundleID, Payload: []byte(goodAlert),
		})
		if err != nil {
			return 0, err
		}
		return res.StatusCode, nil
	})
	checkNoLoss(t, sim, answers)
}
