package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/messages"
)

// received is one request a receiver got.
type received struct {
	body      []byte
	eventID   string
	signature string
	ctype     string
}

// receiver is a webhook endpoint on 127.0.0.1. answer gives the status of
// the n-th request (0-based); hang, when set for n, holds that request
// until the test ends or the client gives up.
type receiver struct {
	srv    *httptest.Server
	answer func(n int) int
	hang   func(n int) bool

	mu   sync.Mutex
	got  []received
	done chan struct{} // closed at cleanup to free hung handlers
}

func newReceiver(t *testing.T, tlsOn bool) *receiver {
	t.Helper()
	r := &receiver{
		answer: func(int) int { return http.StatusOK },
		hang:   func(int) bool { return false },
		done:   make(chan struct{}),
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, received{body: body,
			eventID:   req.Header.Get("X-Herald-Event-Id"),
			signature: req.Header.Get("X-Herald-Signature"),
			ctype:     req.Header.Get("Content-Type")})
		answer, hang := r.answer, r.hang
		r.mu.Unlock()
		if hang(n) {
			select {
			case <-r.done:
			case <-req.Context().Done():
			}
			return
		}
		w.WriteHeader(answer(n))
	})
	if tlsOn {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(func() {
		close(r.done)
		r.srv.Close()
	})
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) pool() *x509.CertPool {
	if r.srv.TLS == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(r.srv.Certificate())
	return p
}

// stepClock records the retry delays asked for and fires each at once, so
// the backoff is checked without waiting for it.
type stepClock struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (c *stepClock) Now() time.Time { return time.UnixMilli(1700000009999) }

func (c *stepClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	c.delays = append(c.delays, d)
	c.mu.Unlock()
	go f()
	return stoppedTimer{}
}

func (c *stepClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.delays...)
}

type stoppedTimer struct{}

func (stoppedTimer) Stop() bool { return false }

// configs is the per-app webhook config the node would hand over.
type configs map[string]*messages.PushConfig

func (c configs) get(appKey string) *messages.PushConfig { return c[appKey] }

func hookConfig(url, secret string, statuses ...string) *messages.PushConfig {
	if len(statuses) == 0 {
		statuses = []string{"success", "fail", "error"}
	}
	return &messages.PushConfig{Webhook: &messages.Webhook{Url: url, Secret: secret,
		Events: statuses}}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newDispatcher starts a Dispatcher for tests and closes it at cleanup.
func newDispatcher(t *testing.T, o Options) *Dispatcher {
	t.Helper()
	o.Logger = slog.New(slog.NewTextHandler(testWriter{t},
		&slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Rand == nil {
		o.Rand = func() float64 { return 0.5 } // no jitter unless asked
	}
	d := New(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func bindingEvent() *events.Event {
	return &events.Event{
		AppKey: "org1#app1", MsgID: "m1", From: "alice", ChatType: "groupchat",
		Target: "bob", GroupID: "g1", DeviceID: "d1", DeviceToken: "T1",
		NotifierName: "fcm-1", Provider: "fcm", Status: "fail",
		Detail: "push yet but fail", Step: 15,
		VendorResponse: []byte(`{"error": "UNREGISTERED"}`), ErrorText: "UNREGISTERED",
		Payload: &events.Payload{Title: "t<1>", Content: "c", Badge: 3, F: "alice",
			T: "bob", M: "m1", G: "g1", E: json.RawMessage(`{"k":"v"}`)},
		Time: time.UnixMilli(1700000000123), Counted: true,
	}
}

func TestWebhookBodyAndSignature(t *testing.T) {
	const secret = "s3cret"
	recipientEv := &events.Event{AppKey: "org1#app1", MsgID: "m2", From: "alice",
		ChatType: "chat", Target: "carol", Status: "fail", Detail: "no push binding",
		Step: 6, Time: time.UnixMilli(1700000000456)}

	wantBinding := `{"callId":"org1#app1_m1","appkey":"org1#app1","msg_id":"m1",` +
		`"from":"alice","chat_type":"groupchat","target":"bob","group_id":"g1",` +
		`"device_id":"d1","device_token":"T1","notifier_name":"fcm-1",` +
		`"channel":"ANDROID","status":"fail","detail":"push yet but fail",` +
		`"step":"push","data":{"error":"UNREGISTERED"},"e_message":"UNREGISTERED",` +
		`"payload":{"title":"t<1>","content":"c","badge":3,"f":"alice","t":"bob",` +
		`"m":"m1","g":"g1","e":{"k":"v"}},"timestamp":1700000000123,` +
		`"security":"` + md5Hex("org1#app1_m1"+secret+"1700000000123") + `"}`
	wantRecipient := `{"callId":"org1#app1_m2","appkey":"org1#app1","msg_id":"m2",` +
		`"from":"alice","chat_type":"chat","target":"carol","group_id":"",` +
		`"device_id":"","device_token":"","notifier_name":"","channel":"",` +
		`"status":"fail","detail":"no push binding","step":"push","data":{},` +
		`"e_message":"","payload":{},"timestamp":1700000000456,` +
		`"security":"` + md5Hex("org1#app1_m2"+secret+"1700000000456") + `"}`

	for _, tc := range []struct {
		name  string
		tlsOn bool
	}{{"http", false}, {"https", true}} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, tc.tlsOn)
			d := newDispatcher(t, Options{
				Config:  configs{"org1#app1": hookConfig(rcv.srv.URL+"/hook", secret)}.get,
				Workers: 1, RootCAs: rcv.pool(),
			})
			d.Emit(bindingEvent())
			d.Emit(recipientEv)
			waitFor(t, "two deliveries", func() bool { return d.Stats().Delivered == 2 })

			got := rcv.requests()
			if len(got) != 2 {
				t.Fatalf("receiver got %d requests, want 2", len(got))
			}
			for i, want := range []string{wantBinding, wantRecipient} {
				r := got[i]
				if string(r.body) != want {
					t.Errorf("body %d\n got %s\nwant %s", i, r.body, want)
				}
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write(r.body)
				wantSig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
				if !hmac.Equal([]byte(r.signature), []byte(wantSig)) {
					t.Errorf("signature %d = %q, want %q", i, r.signature, wantSig)
				}
				if r.ctype != "application/json" || len(r.eventID) != 36 {
					t.Errorf("headers %d: content-type %q, event id %q", i, r.ctype, r.eventID)
				}
			}
			if got[0].eventID == got[1].eventID {
				t.Errorf("two events share the id %q", got[0].eventID)
			}
		})
	}
}

func TestWebhookNoSecretNoSignature(t *testing.T) {
	rcv := newReceiver(t, false)
	d := newDispatcher(t, Options{
		Config: configs{"org1#app1": hookConfig(rcv.srv.URL, "")}.get,
	})
	ev := bindingEvent()
	ev.Payload, ev.VendorResponse = nil, []byte("not json")
	d.Emit(ev)
	waitFor(t, "delivery", func() bool { return d.Stats().Delivered == 1 })

	r := rcv.requests()[0]
	if r.signature != "" {
		t.Errorf("X-Herald-Signature = %q without a secret, want none", r.signature)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if string(m["data"]) != "{}" || string(m["payload"]) != "{}" {
		t.Errorf("data %s payload %s, want {} and {}", m["data"], m["payload"])
	}
	if want := `"` + md5Hex("org1#app1_m1"+"1700000000123") + `"`; string(m["security"]) != want {
		t.Errorf("security = %s, want %s", m["security"], want)
	}
}

// checkBackoff checks retry delays against base·2ⁿ ±20 %.
func checkBackoff(t *testing.T, delays []time.Duration, base time.Duration) {
	t.Helper()
	for i, d := range delays {
		want := base << i
		lo, hi := time.Duration(float64(want)*0.8), time.Duration(float64(want)*1.2)
		if d < lo || d > hi {
			t.Errorf("retry %d after %v, want %v ±20%%", i+1, d, want)
		}
	}
}

func TestWebhookRetriesOn500(t *testing.T) {
	rcv := newReceiver(t, false)
	rcv.answer = func(n int) int {
		if n < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}
	clock := &stepClock{}
	draws := []float64{0, 1} // the extremes of the jitter
	var mu sync.Mutex
	d := newDispatcher(t, Options{
		Config:    configs{"org1#app1": hookConfig(rcv.srv.URL, "k")}.get,
		Clock:     clock,
		BaseDelay: time.Second,
		Rand: func() float64 {
			mu.Lock()
			defer mu.Unlock()
			v := draws[0]
			draws = append(draws[1:], v)
			return v
		},
	})
	d.Emit(bindingEvent())
	waitFor(t, "delivery", func() bool { return d.Stats().Delivered == 1 })

	got := rcv.requests()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	for i, r := range got {
		if r.eventID != got[0].eventID || string(r.body) != string(got[0].body) {
			t.Errorf("attempt %d: id %q body changed, want the first attempt's", i, r.eventID)
		}
	}
	want := []time.Duration{800 * time.Millisecond, 2400 * time.Millisecond}
	if delays := clock.recorded(); len(delays) != 2 || delays[0] != want[0] ||
		delays[1] != want[1] {
		t.Errorf("retry delays %v, want %v", delays, want)
	}
	if s := d.Stats(); s.Retried != 2 || s.Dropped != 0 {
		t.Errorf("stats %+v, want 2 retries and no drop", s)
	}
}

func TestWebhookDropAfterFiveRetries(t *testing.T) {
	rcv := newReceiver(t, false)
	rcv.answer = func(int) int { return http.StatusBadGateway }
	clock := &stepClock{}
	d := newDispatcher(t, Options{
		Config: configs{"org1#app1": hookConfig(rcv.srv.URL, "")}.get,
		Clock:  clock,
		Rand:   func() float64 { return 0.73 },
	})
	d.Emit(bindingEvent())
	waitFor(t, "drop", func() bool { return d.Stats().Dropped == 1 })

	if n := len(rcv.requests()); n != 1+MaxRetries {
		t.Errorf("receiver got %d requests, want %d", n, 1+MaxRetries)
	}
	delays := clock.recorded()
	if len(delays) != MaxRetries {
		t.Fatalf("%d retries scheduled, want %d", len(delays), MaxRetries)
	}
	checkBackoff(t, delays, DefaultBaseDelay)
	if s := d.Stats(); s.Delivered != 0 || s.Retried != MaxRetries {
		t.Errorf("stats %+v, want 0 delivered and %d retries", s, MaxRetries)
	}
}

func TestWebhookRetriesHungReceiver(t *testing.T) {
	rcv := newReceiver(t, false)
	rcv.hang = func(n int) bool { return n == 0 }
	clock := &stepClock{}
	d := newDispatcher(t, Options{
		Config:  configs{"org1#app1": hookConfig(rcv.srv.URL, "")}.get,
		Clock:   clock,
		Timeout: 50 * time.Millisecond,
	})
	d.Emit(bindingEvent())
	waitFor(t, "delivery", func() bool { return d.Stats().Delivered == 1 })

	got := rcv.requests()
	if len(got) != 2 || got[0].eventID != got[1].eventID {
		t.Fatalf("receiver got %d requests, want 2 with one event id", len(got))
	}
	if delays := clock.recorded(); len(delays) != 1 || delays[0] != DefaultBaseDelay {
		t.Errorf("retry delays %v, want [%v]", delays, DefaultBaseDelay)
	}
}

func TestWebhookRealTimerBackoff(t *testing.T) {
	rcv := newReceiver(t, false)
	rcv.answer = func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	d := newDispatcher(t, Options{
		Config:    configs{"org1#app1": hookConfig(rcv.srv.URL, "")}.get,
		BaseDelay: 5 * time.Millisecond,
	})
	d.Emit(bindingEvent())
	waitFor(t, "delivery", func() bool { return d.Stats().Delivered == 1 })
	if n := len(rcv.requests()); n != 2 {
		t.Errorf("receiver got %d requests, want 2", n)
	}
}

func TestWebhookEventsFilter(t *testing.T) {
	rcv := newReceiver(t, false)
	cfg := configs{
		"org1#app1": hookConfig(rcv.srv.URL, "", "fail"),
		"org1#off":  hookConfig("", "x"),
	}
	d := newDispatcher(t, Options{Config: cfg.get, Workers: 1})

	ok := bindingEvent()
	ok.Status, ok.Detail = "success", ""
	d.Emit(ok)                                                             // not subscribed
	d.Emit(&events.Event{AppKey: "org1#off", MsgID: "x", Status: "fail"})  // no URL
	d.Emit(&events.Event{AppKey: "org1#none", MsgID: "y", Status: "fail"}) // no config
	d.Emit(bindingEvent())                                                 // fail: subscribed
	waitFor(t, "delivery", func() bool { return d.Stats().Delivered == 1 })

	if s := d.Stats(); s.Queued != 1 {
		t.Errorf("queued %d events, want only the fail one", s.Queued)
	}
	got := rcv.requests()
	if len(got) != 1 || !strings.Contains(string(got[0].body), `"status":"fail"`) {
		t.Errorf("receiver got %d requests, want the fail event only", len(got))
	}
}

func TestWebhookRejectsBadInput(t *testing.T) {
	rcv := newReceiver(t, false)
	d := newDispatcher(t, Options{Config: configs{
		"org1#app1": hookConfig(rcv.srv.URL, ""),
		"org1#ftp":  hookConfig("ftp://127.0.0.1/x", ""),
	}.get})

	d.Emit(nil)
	d.Emit(&events.Event{MsgID: "m"})                                       // no app
	d.Emit(&events.Event{AppKey: "org1#app1", MsgID: "m", Status: "maybe"}) // bad status
	if s := d.Stats(); s.Invalid != 3 || s.Queued != 0 {
		t.Errorf("stats %+v, want 3 invalid and none queued", s)
	}

	d.Emit(&events.Event{AppKey: "org1#ftp", MsgID: "m", Status: "fail"})
	waitFor(t, "drop of the ftp URL", func() bool { return d.Stats().Dropped == 1 })
	if s := d.Stats(); s.Retried != 0 || len(rcv.requests()) != 0 {
		t.Errorf("stats %+v: a non-http URL must be dropped without retry", s)
	}
}

func TestWebhookEmitNeverBlocks(t *testing.T) {
	rcv := newReceiver(t, false)
	rcv.hang = func(int) bool { return true }
	d := newDispatcher(t, Options{
		Config:    configs{"org1#app1": hookConfig(rcv.srv.URL, "")}.get,
		Workers:   1,
		QueueSize: 2,
	})

	// The one worker hangs on the first event, the second waits in the
	// queue; every further Emit must return at once and count a drop.
	for range 10 {
		d.Emit(bindingEvent())
	}
	s := d.Stats()
	if s.Queued != 2 || s.QueueFull != 8 {
		t.Errorf("stats %+v, want 2 queued and 8 refused", s)
	}
	waitFor(t, "first request", func() bool { return len(rcv.requests()) == 1 })

	// Close gives up what is left once its deadline passes.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); err != context.DeadlineExceeded {
		t.Errorf("Close = %v, want %v", err, context.DeadlineExceeded)
	}
	if s := d.Stats(); s.Dropped != 2 || s.Delivered != 0 {
		t.Errorf("after Close stats %+v, want both queued events dropped", s)
	}
	if err := d.Close(context.Background()); err != ErrClosed {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	d.Emit(bindingEvent())
	if s := d.Stats(); s.Invalid != 1 {
		t.Errorf("Emit after Close: stats %+v, want it refused", s)
	}
}

func TestWebhookCloseDrains(t *testing.T) {
	rcv := newReceiver(t, false)
	d := New(Options{Config: configs{"org1#app1": hookConfig(rcv.srv.URL, "")}.get,
		Workers: 2})
	for range 20 {
		d.Emit(bindingEvent())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if s := d.Stats(); s.Delivered != 20 || len(rcv.requests()) != 20 {
		t.Errorf("after Close stats %+v, receiver %d; want all 20 delivered", s,
			len(rcv.requests()))
	}
}
