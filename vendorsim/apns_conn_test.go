package vendorsim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// withToken is the default push to another device token.
func withToken(p push, token string) push {
	p.token = token
	return p
}

func TestAPNsConnInitialSettingsThenLimitOpens(t *testing.T) {
	sim, creds := startSim(t)
	rc := dialRaw(t, sim, nil)

	first := rc.await("server SETTINGS", func(f rawFrame) bool { return f.typ == http2.FrameSettings })
	want := map[http2.SettingID]uint32{
		http2.SettingHeaderTableSize:      4096,
		http2.SettingMaxConcurrentStreams: 1,
		http2.SettingInitialWindowSize:    65535,
		http2.SettingMaxFrameSize:         16384,
		http2.SettingMaxHeaderListSize:    8000,
	}
	for id, v := range want {
		if got, ok := first.settings[id]; !ok || got != v {
			t.Errorf("initial %v = %d (present %v), want %d", id, got, ok, v)
		}
	}

	id := rc.send(defaultPush(creds, freshJWT(t, creds)))
	if status, reason := rc.answer(id); status != 200 {
		t.Fatalf("push = %d %q, want 200", status, reason)
	}
	// The raised limit comes before the answer that earned it.
	raised := rc.index(func(f rawFrame) bool {
		return f.typ == http2.FrameSettings && f.settings[http2.SettingMaxConcurrentStreams] == 1000
	})
	answered := rc.index(func(f rawFrame) bool {
		return f.typ == http2.FrameHeaders && f.stream == id
	})
	if raised < 0 || raised > answered {
		t.Fatalf("frames %v: want SETTINGS MAX_CONCURRENT_STREAMS=1000 before the answer", rc.seen)
	}
	r := waitOne(t, sim, Filter{Token: goodToken})
	if r.Stream != id {
		t.Errorf("record stream = %d, want %d", r.Stream, id)
	}
}

func TestAPNsConnCertificateStartsOpen(t *testing.T) {
	sim, creds := startSim(t)
	rc := dialRaw(t, sim, nil, p12Cert(t, creds))
	if got := rc.limitSettings(); got != 1000 {
		t.Fatalf("certificate connection limit = %d, want 1000", got)
	}
}

func TestAPNsConnOverLimitRefused(t *testing.T) {
	sim, creds := startSim(t)
	rc := dialRaw(t, sim, nil)
	p := defaultPush(creds, freshJWT(t, creds))
	if got := rc.limitSettings(); got != 1 {
		t.Fatalf("initial limit = %d, want 1", got)
	}

	// One hanging push holds the only stream; the next is refused.
	hang := rc.send(withToken(p, "hang0001"))
	waitInFlight(t, sim, 1)
	over := rc.send(p)
	if code := rc.reset(over); code != http2.ErrCodeRefusedStream {
		t.Fatalf("stream over the limit reset with %v, want REFUSED_STREAM", code)
	}
	if n := sim.Counters()[VendorAPNs].RefusedStreams; n != 1 {
		t.Errorf("refused streams = %d, want 1", n)
	}

	// Once the client gives up the hanging stream, a resend succeeds.
	rc.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(hang, http2.ErrCodeCancel) })
	waitInFlight(t, sim, 0)
	again := rc.send(p)
	if status, reason := rc.answer(again); status != 200 {
		t.Fatalf("resend = %d %q, want 200", status, reason)
	}
}

func TestAPNsConnShrinksAfterRejectionAndGrowsBack(t *testing.T) {
	sim, creds := startSim(t)
	rc := dialRaw(t, sim, nil)
	p := defaultPush(creds, freshJWT(t, creds))
	if status, _ := rc.answer(rc.send(p)); status != 200 {
		t.Fatalf("first push = %d, want 200", status)
	}

	// Three hanging streams are open when a push is rejected: the limit
	// drops to 1, the oldest stays, the other two are refused.
	h1 := rc.send(withToken(p, "hang0001"))
	h2 := rc.send(withToken(p, "hang0002"))
	h3 := rc.send(withToken(p, "hang0003"))
	waitInFlight(t, sim, 3)
	bad := rc.send(withToken(p, "baddev01"))
	if status, reason := rc.answer(bad); status != 400 || reason != "BadDeviceToken" {
		t.Fatalf("rejected push = %d %q, want 400 BadDeviceToken", status, reason)
	}
	shrunk := rc.index(func(f rawFrame) bool {
		v, ok := f.settings[http2.SettingMaxConcurrentStreams]
		return f.typ == http2.FrameSettings && ok && v == 1
	})
	answered := rc.index(func(f rawFrame) bool {
		return f.typ == http2.FrameHeaders && f.stream == bad
	})
	if shrunk < 0 || shrunk > answered {
		t.Fatalf("frames %v: want SETTINGS MAX_CONCURRENT_STREAMS=1 before the rejection", rc.seen)
	}
	for _, id := range []uint32{h2, h3} {
		if code := rc.reset(id); code != http2.ErrCodeRefusedStream {
			t.Errorf("stream %d reset with %v, want REFUSED_STREAM", id, code)
		}
	}
	if i := rc.index(func(f rawFrame) bool { return f.stream == h1 }); i >= 0 {
		t.Errorf("oldest stream %d got %v, want it kept", h1, rc.seen[i])
	}
	// Their handlers record them once they see the refusal.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	refused, err := sim.Wait(ctx, 2, Filter{Outcome: OutcomeRetryable})
	if err != nil || len(refused) != 2 || refused[0].VendorCode != codeRefusedStream {
		t.Errorf("records of refused streams = %+v, want 2 REFUSED_STREAM", refused)
	}

	// The next success restores the limit, announced before its answer.
	rc.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(h1, http2.ErrCodeCancel) })
	waitInFlight(t, sim, 0)
	good := rc.send(p)
	if status, _ := rc.answer(good); status != 200 {
		t.Fatalf("push after rejection = %d, want 200", status)
	}
	if got := rc.seen[len(rc.seen)-2]; got.typ != http2.FrameSettings ||
		got.settings[http2.SettingMaxConcurrentStreams] != 1000 {
		t.Errorf("frame before the answer = %v, want SETTINGS MAX_CONCURRENT_STREAMS=1000", got)
	}
	if n := sim.Counters()[VendorAPNs].RefusedStreams; n != 2 {
		t.Errorf("refused streams = %d, want 2", n)
	}
}

func TestAPNsConnPersistentViolatorGetsGoAway(t *testing.T) {
	sim, creds := startSim(t)
	rc := dialRaw(t, sim, nil)
	p := defaultPush(creds, freshJWT(t, creds))
	if got := rc.limitSettings(); got != 1 {
		t.Fatalf("initial limit = %d, want 1", got)
	}
	// A PING round trip proves the server has our SETTINGS ack.
	rc.write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{1}) })
	rc.await("PING ack", func(f rawFrame) bool { return f.typ == http2.FramePing && f.ack })

	hang := rc.send(withToken(p, "hang0001"))
	waitInFlight(t, sim, 1)
	var last uint32
	for range violationLimit + 1 {
		last = rc.send(p)
	}
	g := rc.await("GOAWAY", func(f rawFrame) bool { return f.typ == http2.FrameGoAway })
	if g.code != http2.ErrCodeEnhanceYourCalm || string(g.data) != "Maximum active streams violated" ||
		g.last != hang {
		t.Fatalf("GOAWAY = %v, want ENHANCE_YOUR_CALM last %d \"Maximum active streams violated\"",
			g, hang)
	}
	if n := sim.Counters()[VendorAPNs].RefusedStreams; n != violationLimit+1 {
		t.Errorf("refused streams = %d, want %d (up to stream %d)", n, violationLimit+1, last)
	}
}

func TestAPNsConnGoAwayEvery(t *testing.T) {
	sim, creds := startSim(t)
	if err := sim.SetFaults(FaultSet{Global: Faults{GoAwayEvery: 3}}); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, sim, nil)
	p := defaultPush(creds, freshJWT(t, creds))
	first := rc.send(p)
	if status, _ := rc.answer(first); status != 200 {
		t.Fatalf("first push = %d, want 200", status)
	}

	// Three more pushes at once: the third request on the connection is
	// the last one processed; the fourth is above the GOAWAY.
	a, b, c := rc.send(withToken(p, "slow0001")), rc.send(p), rc.send(p)
	g := rc.await("GOAWAY", func(f rawFrame) bool { return f.typ == http2.FrameGoAway })
	if g.code != http2.ErrCodeNo || g.last != b || string(g.data) != `{"reason":"Shutdown"}` {
		t.Fatalf("GOAWAY = %v, want NO_ERROR last %d {\"reason\":\"Shutdown\"}", g, b)
	}
	for _, id := range []uint32{a, b} {
		if status, _ := rc.answer(id); status != 200 {
			t.Errorf("stream %d under the GOAWAY = %d, want 200", id, status)
		}
	}
	rc.drain()
	if i := rc.index(func(f rawFrame) bool { return f.stream == c }); i >= 0 {
		t.Errorf("stream %d above the GOAWAY got %v, want nothing", c, rc.seen[i])
	}
	if n := len(sim.Received(Filter{Vendor: VendorAPNs})); n != 3 {
		t.Errorf("records = %d, want 3 (the stream above GOAWAY is not processed)", n)
	}
	if n := sim.Counters()[VendorAPNs].GoAways; n != 1 {
		t.Errorf("goaways = %d, want 1", n)
	}
}

func TestAPNsConnExpiredTokenGoAway(t *testing.T) {
	sim, creds := startSim(t)
	rc := dialRaw(t, sim, nil)
	old := mintJWT(t, p8Key(t, creds), creds.APNs.KeyID, creds.APNs.TeamID,
		time.Now().Add(-61*time.Minute))
	id := rc.send(defaultPush(creds, old))
	if status, reason := rc.answer(id); status != 403 || reason != "ExpiredProviderToken" {
		t.Fatalf("push = %d %q, want 403 ExpiredProviderToken", status, reason)
	}
	g := rc.await("GOAWAY", func(f rawFrame) bool { return f.typ == http2.FrameGoAway })
	if g.code != http2.ErrCodeNo || g.last != id ||
		string(g.data) != `{"reason":"ExpiredProviderToken"}` {
		t.Fatalf("GOAWAY = %v, want NO_ERROR last %d {\"reason\":\"ExpiredProviderToken\"}", g, id)
	}
	rc.drain()
}

func TestAPNsConnPingAndFlowControl(t *testing.T) {
	sim, creds := startSim(t)
	// The client lets no answer body through until it says so.
	rc := dialRaw(t, sim, []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 0}})
	p := defaultPush(creds, freshJWT(t, creds))

	rc.write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{7, 7}) })
	pong := rc.await("PING ack", func(f rawFrame) bool { return f.typ == http2.FramePing })
	if !pong.ack || pong.data[0] != 7 || pong.data[1] != 7 {
		t.Fatalf("PING answer = ack %v data %v, want an ack echoing 7 7", pong.ack, pong.data)
	}

	// A 70 000-byte body needs the server's WINDOW_UPDATEs to get through.
	big := withToken(p, goodToken)
	big.body = bigPayload(70000)
	id := rc.open(big, false)
	sent, connWin, streamWin := 0, 65535, 65535
	for sent < len(big.body) {
		n := min(16384, connWin, streamWin, len(big.body)-sent)
		if n == 0 {
			u := rc.await("WINDOW_UPDATE", func(f rawFrame) bool {
				return f.typ == http2.FrameWindowUpdate
			})
			if u.stream == 0 {
				connWin += int(u.inc)
			} else {
				streamWin += int(u.inc)
			}
			continue
		}
		chunk := big.body[sent : sent+n]
		end := sent+n == len(big.body)
		rc.write(func(fr *http2.Framer) error { return fr.WriteData(id, end, []byte(chunk)) })
		sent += n
		connWin -= n
		streamWin -= n
	}
	h := rc.await("answer headers", func(f rawFrame) bool {
		return f.typ == http2.FrameHeaders && f.stream == id
	})
	if h.status != 413 || h.end {
		t.Fatalf("answer = %d end %v, want 413 with a body to come", h.status, h.end)
	}

	// No DATA before the client opens the window: a PING round trip
	// shows the server sent nothing else for the stream.
	rc.write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{9}) })
	rc.await("PING ack", func(f rawFrame) bool { return f.typ == http2.FramePing && f.data[0] == 9 })
	if i := rc.index(func(f rawFrame) bool { return f.typ == http2.FrameData }); i >= 0 {
		t.Fatalf("DATA sent into a zero window: %v", rc.seen)
	}
	rc.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(id, 1000) })
	d := rc.await("answer body", func(f rawFrame) bool { return f.typ == http2.FrameData })
	if !d.end || !strings.Contains(string(d.data), "PayloadTooLarge") {
		t.Fatalf("answer body = %q end %v, want PayloadTooLarge ending the stream", d.data, d.end)
	}
}

func TestAPNsConnRefuseTokenRealReset(t *testing.T) {
	sim, creds := startSim(t)
	rc := dialRaw(t, sim, nil)
	p := withToken(defaultPush(creds, freshJWT(t, creds)), "refuse01")
	id := rc.send(p)
	if code := rc.reset(id); code != http2.ErrCodeRefusedStream {
		t.Fatalf("refuse token reset with %v, want REFUSED_STREAM", code)
	}
	if status, _ := rc.answer(rc.send(p)); status != 200 {
		t.Fatalf("resend = %d, want 200", status)
	}
}

// TestAPNsConnClientConnLimit watches the limit through the client side of
// x/net's http2 (ClientConn.State), as Herald's transport sees it.
func TestAPNsConnClientConnLimit(t *testing.T) {
	sim, creds := startSim(t)
	cc := clientConn(t, sim)
	ctx := context.Background()
	if err := cc.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	limit := func() uint32 { return cc.State().MaxConcurrentStreams }
	if got := limit(); got != 1 {
		t.Fatalf("limit before any push = %d, want 1", got)
	}

	jwtStr := freshJWT(t, creds)
	steps := []struct {
		token  string
		status int
		limit  uint32
	}{
		{goodToken, 200, 1000},
		{"baddev01", 400, 1},
		{goodToken, 200, 1000},
		{"dead0001", 410, 1},
		{"dead0001", 410, 1},
		{goodToken, 200, 1000},
	}
	for i, st := range steps {
		req := newPushRequest(t, sim, withToken(defaultPush(creds, jwtStr), st.token))
		resp, err := cc.RoundTrip(req)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != st.status || limit() != st.limit {
			t.Fatalf("step %d (%s) = %d with limit %d, want %d with limit %d",
				i, st.token, resp.StatusCode, limit(), st.status, st.limit)
		}
	}
}

func TestAPNsConnMaxStreamsAtRunTime(t *testing.T) {
	sim, creds := startSim(t)
	fs := FaultSet{Vendors: map[string]Faults{VendorAPNs: {MaxStreams: 7}}}
	if err := sim.SetFaults(fs); err != nil {
		t.Fatal(err)
	}
	cc := clientConn(t, sim)
	resp, err := cc.RoundTrip(newPushRequest(t, sim, defaultPush(creds, freshJWT(t, creds))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := cc.State().MaxConcurrentStreams; resp.StatusCode != 200 || got != 7 {
		t.Fatalf("push = %d with limit %d, want 200 with limit 7", resp.StatusCode, got)
	}
}

func TestAPNsConnRealismOffUsesNetHTTP(t *testing.T) {
	sim, creds := startSim(t)
	off := false
	if err := sim.SetFaults(FaultSet{Global: Faults{APNsRealism: &off, GoAwayEvery: 2}}); err != nil {
		t.Fatal(err)
	}
	cc := clientConn(t, sim)
	if err := cc.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	// net/http's http2.Server announces the limit at once, JWT or not.
	if got := cc.State().MaxConcurrentStreams; got != 1000 {
		t.Fatalf("limit = %d, want 1000 from net/http", got)
	}

	c := h2Client(t, sim)
	jwtStr := freshJWT(t, creds)
	for i := range 4 {
		if got := mustSend(t, c, sim, defaultPush(creds, jwtStr)); got.status != 200 {
			t.Fatalf("push %d = %d, want 200", i, got.status)
		}
	}
	if r := waitOne(t, sim, Filter{Token: goodToken}); r.Stream != 0 {
		t.Errorf("record stream = %d, want 0 on the net/http path", r.Stream)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sim.Counters()[VendorAPNs].GoAways < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := sim.Counters()[VendorAPNs].GoAways; n < 2 {
		t.Errorf("goaways after 4 pushes with goaway_every 2 = %d, want >= 2", n)
	}
}

// clientConn opens one x/net http2 ClientConn to the APNs emulator.
func clientConn(t *testing.T, sim *Sim) *http2.ClientConn {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	addr := strings.TrimPrefix(sim.Endpoint(VendorAPNs), "https://")
	tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	tr := &http2.Transport{StrictMaxConcurrentStreams: true}
	cc, err := tr.NewClientConn(tc)
	if err != nil {
		t.Fatalf("client conn: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// newPushRequest builds the HTTP request of p.
func newPushRequest(t *testing.T, sim *Sim, p push) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, sim.Endpoint(VendorAPNs)+"/3/device/"+p.token,
		strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	return req
}

// waitInFlight polls until the emulator has n APNs requests in flight.
func waitInFlight(t *testing.T, sim *Sim, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sim.Counters()[VendorAPNs].InFlight != n {
		if time.Now().After(deadline) {
			t.Fatalf("in flight = %d, want %d", sim.Counters()[VendorAPNs].InFlight, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestAPNsTokenKnobs(t *testing.T) {
	sim, creds := startSim(t)
	key := p8Key(t, creds)
	now := time.Now()
	jwtAt := func(age time.Duration) string {
		return mintJWT(t, key, creds.APNs.KeyID, creds.APNs.TeamID, now.Add(-age))
	}
	zero := Duration(0)

	// token_ttl 1m: a 2-minute-old token has expired.
	if err := sim.SetFaults(FaultSet{Global: Faults{TokenTTL: Duration(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	got := mustSend(t, h2Client(t, sim), sim, defaultPush(creds, jwtAt(2*time.Minute)))
	if got.status != 403 || got.reason != "ExpiredProviderToken" {
		t.Errorf("2-minute-old token with token_ttl 1m = %d %q, want 403 ExpiredProviderToken",
			got.status, got.reason)
	}

	// jwt_update_window 0: switching tokens on a connection is allowed.
	if err := sim.SetFaults(FaultSet{Global: Faults{JWTUpdateWindow: &zero}}); err != nil {
		t.Fatal(err)
	}
	c := h2Client(t, sim)
	for i, tok := range []string{jwtAt(time.Minute), jwtAt(0)} {
		if got := mustSend(t, c, sim, defaultPush(creds, tok)); got.status != 200 {
			t.Errorf("token %d with jwt_update_window 0 = %d %q, want 200", i, got.status, got.reason)
		}
	}
}

func TestAPNsConnCloseSendsShutdownGoAway(t *testing.T) {
	sim, creds := startSim(t)
	rc := dialRaw(t, sim, nil)
	id := rc.send(defaultPush(creds, freshJWT(t, creds)))
	if status, _ := rc.answer(id); status != 200 {
		t.Fatalf("push = %d, want 200", status)
	}

	closed := make(chan struct{})
	go func() {
		defer close(closed)
		sim.Close()
	}()
	g := rc.await("GOAWAY", func(f rawFrame) bool { return f.typ == http2.FrameGoAway })
	if g.code != http2.ErrCodeNo || g.last != id || string(g.data) != `{"reason":"Shutdown"}` {
		t.Fatalf("GOAWAY = %v, want NO_ERROR last %d {\"reason\":\"Shutdown\"}", g, id)
	}
	rc.drain()
	rc.conn.Close()
	<-closed
	if n := sim.Counters()[VendorAPNs].GoAways; n != 1 {
		t.Errorf("goaways = %d, want 1", n)
	}
}
