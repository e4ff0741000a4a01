package apns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendorsim"
)

func TestReconnectDelay(t *testing.T) {
	tests := []struct {
		n    int
		rnd  float64
		want time.Duration
	}{
		{1, 0.5, time.Second},
		{2, 0.5, 2 * time.Second},
		{5, 0.5, 16 * time.Second},
		{6, 0.5, 30 * time.Second},
		{60, 0.5, 30 * time.Second},
		{1, 0, 800 * time.Millisecond},
		{6, 1, 36 * time.Second},
	}
	for _, tt := range tests {
		got := reconnectDelay(tt.n, func() float64 { return tt.rnd })
		if got != tt.want {
			t.Errorf("reconnectDelay(%d, %v) = %v, want %v", tt.n, tt.rnd, got, tt.want)
		}
	}
}

func TestHostPort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.push.apple.com", "api.push.apple.com:443"},
		{"https://127.0.0.1:2197/prefix", "127.0.0.1:2197"},
		{"https://[::1]", "[::1]:443"},
	}
	for _, tt := range tests {
		if got, err := hostPort(tt.in); err != nil || got != tt.want {
			t.Errorf("hostPort(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := hostPort("http://x"); err == nil {
		t.Error("hostPort accepted an http URL")
	}
}

// pushAll pushes tokens from workers goroutines and returns the results
// in token order.
func pushAll(c *Client, tokens []string, workers int) []vendors.Result {
	out := make([]vendors.Result, len(tokens))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				n := &messages.Notification{Body: "b", CollapseKey: tokens[i]}
				out[i] = c.Push(context.Background(), tokens[i], n, "")
			}
		}()
	}
	for i := range tokens {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func hexTokens(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%06x", prefix, i)
	}
	return out
}

func checkDelivered(t *testing.T, sim *vendorsim.Sim, tokens []string, res []vendors.Result) {
	t.Helper()
	for i, r := range res {
		if r.Class != vendors.Delivered {
			t.Fatalf("push %s = %+v, want delivered", tokens[i], r)
		}
	}
	delivered := map[string]int{}
	for _, r := range sim.Received(vendorsim.Filter{Vendor: "apns", Outcome: "delivered"}) {
		delivered[r.Token]++
	}
	for _, tok := range tokens {
		if delivered[tok] != 1 {
			t.Fatalf("emulator delivered %s %d times, want once", tok, delivered[tok])
		}
	}
}

func TestPoolGrowsWhileStreamsAreFull(t *testing.T) {
	sim, creds := startSim(t)
	err := sim.SetFaults(vendorsim.FaultSet{Vendors: map[string]vendorsim.Faults{"apns": {
		MaxStreams: 1,
		Latency: vendorsim.Latency{Kind: vendorsim.LatencyFixed,
			P50: vendorsim.Duration(200 * time.Millisecond)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	c := simClient(t, sim, creds, "apns", AuthP8, 20*time.Second)
	c.pool.mu.Lock()
	c.pool.idleAfter = 300 * time.Millisecond
	c.pool.mu.Unlock()
	if n := c.Streams(); n != 0 {
		t.Fatalf("Streams() before any connection = %d, want 0", n)
	}

	tokens := hexTokens("0a", 40)
	checkDelivered(t, sim, tokens, pushAll(c, tokens, 16))
	conns := sim.Counters()["apns"].Connections
	if conns <= MinConns || conns > MaxConns {
		t.Fatalf("connections = %d, want more than %d and at most %d", conns, MinConns,
			MaxConns)
	}
	if n := c.Streams(); n < MinConns || n > MaxConns {
		t.Fatalf("Streams() = %d, want one per connection (%d..%d)", n, MinConns, MaxConns)
	}
	t.Logf("%d connections at 1 stream each", conns)

	// Once idle, the connections beyond MinConns close without a push.
	open := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		c.pool.mu.Lock()
		open = len(c.pool.conns)
		c.pool.mu.Unlock()
		if open <= MinConns {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%d connections open after an idle period, want %d", open, MinConns)
}

func TestPoolResendsRefusedAndGoAway(t *testing.T) {
	sim, creds := startSim(t)
	err := sim.SetFaults(vendorsim.FaultSet{Vendors: map[string]vendorsim.Faults{"apns": {
		GoAwayEvery: 7,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	c := simClient(t, sim, creds, "apns", AuthP8, 10*time.Second)

	tokens := append(hexTokens("0b", 100), "refuse01", "refuse02")
	checkDelivered(t, sim, tokens, pushAll(c, tokens, 8))
	cnt := sim.Counters()["apns"]
	if cnt.GoAways == 0 || cnt.RefusedStreams < 2 {
		t.Fatalf("counters = %+v, want GOAWAYs and at least 2 refused streams", cnt)
	}
	if n := c.Streams(); n < 1000 {
		t.Fatalf("Streams() = %d, want the emulator's 1000 or more", n)
	}
}

func TestPoolReconnectBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every dial fails

	tc := makeTestCreds(t)
	parsed, err := ParseCredentials("apns", tc.p8)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Credentials: parsed, Endpoint: "https://" + addr,
		Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	n := &messages.Notification{Body: "b"}
	if r := c.Push(context.Background(), "0a", n, ""); r.Class != vendors.Retryable {
		t.Fatalf("push to a closed port = %+v, want retryable", r)
	}
	r := c.Push(context.Background(), "0a", n, "")
	if r.Class != vendors.Retryable || !errors.Is(r.Err, ErrReconnectBackoff) {
		t.Fatalf("push right after a failed dial = %+v, want retryable %v", r,
			ErrReconnectBackoff)
	}
}
