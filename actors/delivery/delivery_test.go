package delivery

import (
	"context"
	"crypto/x509"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/herald-im/herald/messages"
	_ "github.com/herald-im/herald/vendors/all"
	"github.com/herald-im/herald/vendorsim"
)

// harness is one test's actor system, emulator and registry.
type harness struct {
	t        *testing.T
	sim      *vendorsim.Sim
	creds    *vendorsim.Creds
	system   *actor.ActorSystem
	reg      *Registry
	replyTo  *messages.Pid
	outcomes chan *messages.SendOutcome

	mu      sync.Mutex
	unbinds []*messages.Unbind
}

// tWriter routes logs to t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newHarness starts an emulator, after editing its credentials config
// with edit when given, and a registry on it.
func newHarness(t *testing.T, opts Options, edit ...func(cfg map[string]any)) *harness {
	t.Helper()
	creds, err := vendorsim.GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edit {
		editConfig(t, creds.ConfigFile, e)
	}
	sim, err := vendorsim.Start(vendorsim.Config{CredsFile: creds.ConfigFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	logger := slog.New(slog.NewTextHandler(tWriter{t},
		&slog.HandlerOptions{Level: slog.LevelDebug}))
	system := actor.NewActorSystem(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return logger }))
	h := &harness{t: t, sim: sim, creds: creds, system: system,
		outcomes: make(chan *messages.SendOutcome, 100)}
	t.Cleanup(h.system.Shutdown)

	// The fan-out stand-in: an actor that hands outcomes to the test.
	pid := h.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if o, ok := c.Message().(*messages.SendOutcome); ok {
			h.outcomes <- o
		}
	}))
	h.replyTo = &messages.Pid{Address: pid.Address, Id: pid.Id}

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sim.CAPEM())
	opts.RootCAs = roots
	opts.Logger = logger
	opts.OnTokenInvalid = func(appKey, recipient string, u *messages.Unbind) {
		if appKey != "org#app" || recipient != "bob" {
			t.Errorf("OnTokenInvalid(%q, %q), want org#app, bob", appKey, recipient)
		}
		h.mu.Lock()
		h.unbinds = append(h.unbinds, u)
		h.mu.Unlock()
	}
	if opts.RetryBaseDelay == 0 {
		opts.RetryBaseDelay = time.Millisecond
	}
	h.reg = NewRegistry(h.system, opts)
	t.Cleanup(h.reg.Stop)
	return h
}

// notifier is an apns notifier on the emulator with p8 or p12 auth.
func (h *harness) notifier(auth string, modified int64) *messages.Notifier {
	a := h.creds.APNs
	creds := map[string]string{"bundle_id": a.BundleID, "auth_type": auth}
	if auth == "p8" {
		creds["key_id"], creds["team_id"] = a.KeyID, a.TeamID
		creds["private_key"] = string(a.P8PEM)
	} else {
		creds["certificate"], creds["password"] = a.P12Base64, a.P12Password
	}
	return &messages.Notifier{Name: "ios", Provider: "apns", Environment: "development",
		Enabled: true, Modified: modified, Endpoint: h.sim.Endpoint("apns"),
		Credentials: creds}
}

func (h *harness) send(n *messages.Notifier, msgID, token string) {
	h.reg.Send("org#app", n, &messages.Send{
		AppKey: "org#app", NotifierName: n.Name, Recipient: "bob", DeviceId: "d1",
		DeviceToken: token, MsgId: msgID, ReplyTo: h.replyTo,
		Notification: &messages.Notification{Title: "Hi", Body: "there",
			CollapseKey: msgID, Custom: []byte(`{"f":"ann","t":"bob","m":"` + msgID + `"}`)},
	})
}

// outcome waits for the next outcome.
func (h *harness) outcome() *messages.SendOutcome {
	h.t.Helper()
	select {
	case o := <-h.outcomes:
		return o
	case <-time.After(20 * time.Second):
		h.t.Fatal("no send outcome within 20 s")
		return nil
	}
}

// received returns what the emulator answered for token.
func (h *harness) received(token string) []vendorsim.Record {
	return h.sim.Received(vendorsim.Filter{Vendor: "apns", Token: token})
}

func checkResult(t *testing.T, o *messages.SendOutcome, status, detail, reason string) {
	t.Helper()
	r := o.GetResult()
	if r.GetStatus() != status || r.GetDetail() != detail || r.GetVendorReason() != reason {
		t.Fatalf("outcome = %v, want status %q detail %q reason %q", o, status, detail, reason)
	}
	if r.DeviceId != "d1" || r.NotifierName != "ios" || o.Recipient != "bob" {
		t.Fatalf("outcome = %v, want device d1, notifier ios, recipient bob", o)
	}
}

func TestDeliveryDelivered(t *testing.T) {
	h := newHarness(t, Options{})
	const tok = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

	// Distinct Modified values: each notifier builds its own client.
	for i, auth := range []string{"p8", "p12"} {
		t.Run(auth, func(t *testing.T) {
			h.t = t
			msgID := "msg-" + auth
			h.send(h.notifier(auth, int64(i+1)), msgID, tok)
			o := h.outcome()
			checkResult(t, o, "success", "", "")
			if o.MsgId != msgID || o.Result.VendorId != apnsID(msgID, tok) {
				t.Errorf("outcome = %v, want msg %s and vendor id %s", o, msgID,
					apnsID(msgID, tok))
			}

			var recs []vendorsim.Record
			for _, r := range h.received(tok) {
				if r.Headers["apns-id"] == apnsID(msgID, tok) {
					recs = append(recs, r)
				}
			}
			wantScheme := map[string]string{"p8": "bearer", "p12": "cert"}[auth]
			if len(recs) != 1 || recs[0].Auth.Scheme != wantScheme || recs[0].Status != 200 {
				t.Fatalf("emulator saw %+v, want one 200 with %s auth", recs, wantScheme)
			}
			if got := recs[0].Headers["apns-collapse-id"]; got != msgID {
				t.Errorf("apns-collapse-id = %q, want %q", got, msgID)
			}
		})
	}
}

func TestDeliveryTokenInvalid(t *testing.T) {
	h := newHarness(t, Options{})
	h.send(h.notifier("p8", 1), "m1", "dead01")
	o := h.outcome()
	checkResult(t, o, "fail", DetailPushFailed, "Unregistered")
	if o.Result.HttpStatus != 410 {
		t.Errorf("http_status = %d, want 410", o.Result.HttpStatus)
	}

	// The worker reports the unbind before the outcome.
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.unbinds) != 1 {
		t.Fatalf("OnTokenInvalid called %d times, want 1", len(h.unbinds))
	}
	u := h.unbinds[0]
	if u.DeviceId != "d1" || u.NotifierName != "ios" || u.DeviceToken != "dead01" ||
		u.NotAfter <= 0 {
		t.Errorf("unbind = %v, want d1/ios/dead01 with the 410 timestamp", u)
	}
	if n := len(h.received("dead01")); n != 1 {
		t.Errorf("emulator saw %d attempts, want 1 (no retry)", n)
	}
}

func TestDeliveryRetries(t *testing.T) {
	h := newHarness(t, Options{})
	n := h.notifier("p8", 1)

	// flaky: 503 with Retry-After 1 s, then delivered with the same id.
	h.send(n, "m1", "flaky01")
	checkResult(t, h.outcome(), "success", "", "")
	recs := h.received("flaky01")
	if len(recs) != 2 || recs[0].Status != 503 || recs[1].Status != 200 {
		t.Fatalf("flaky attempts = %d, want 503 then 200", len(recs))
	}
	if a, b := recs[0].Headers["apns-id"], recs[1].Headers["apns-id"]; a != b || a == "" {
		t.Errorf("apns-id changed across retries: %q then %q", a, b)
	}
	if gap := recs[1].ReceivedAt.Sub(recs[0].AnsweredAt); gap < 900*time.Millisecond {
		t.Errorf("retry came %v after the 503, want Retry-After (1 s) honoured", gap)
	}

	// refuse: the stream is reset once, then the push goes through.
	h.send(n, "m3", "refuse01")
	checkResult(t, h.outcome(), "success", "", "")
	if got := len(h.received("refuse01")); got != 2 {
		t.Errorf("refuse attempts = %d, want 2", got)
	}

	// fail: 500 every time; two retries, then error.
	h.send(n, "m2", "fail01")
	o := h.outcome()
	checkResult(t, o, "error", DetailPushFailed, "InternalServerError")
	if got := len(h.received("fail01")); got != 3 {
		t.Errorf("fail attempts = %d, want 3 (first + 2 retries)", got)
	}
}

func TestDeliveryOverloaded(t *testing.T) {
	h := newHarness(t, Options{MaxInFlight: 1, QueueSize: 1})
	n := h.notifier("p8", 1)

	// slow01 takes the only slot, slow02 the only queue place.
	h.send(n, "m1", "slow01")
	h.send(n, "m2", "slow02")
	h.send(n, "m3", "slow03")

	o := h.outcome()
	if o.MsgId != "m3" {
		t.Fatalf("first outcome = %v, want m3 answered at once", o)
	}
	checkResult(t, o, "error", DetailPushFailed, ReasonOverloaded)
	for _, want := range []string{"m1", "m2"} {
		o := h.outcome()
		if o.MsgId != want {
			t.Fatalf("outcome = %v, want %s", o, want)
		}
		checkResult(t, o, "success", "", "")
	}
	if got := len(h.received("slow03")); got != 0 {
		t.Errorf("overloaded push reached the vendor %d times", got)
	}
}

func TestDeliveryNotifierChange(t *testing.T) {
	h := newHarness(t, Options{})
	const tok = "0a0b0c0d"

	h.send(h.notifier("p8", 1), "m1", tok)
	checkResult(t, h.outcome(), "success", "", "")

	// Same name, newer Modified, now certificate auth: the next push uses
	// a rebuilt client.
	h.send(h.notifier("p12", 2), "m2", tok)
	checkResult(t, h.outcome(), "success", "", "")

	recs := h.received(tok)
	if len(recs) != 2 || recs[0].Auth.Scheme != "bearer" || recs[1].Auth.Scheme != "cert" {
		t.Fatalf("emulator saw %+v, want bearer then cert", recs)
	}

	// Broken credentials stop at step 14 without a request.
	broken := h.notifier("p8", 3)
	broken.Credentials["private_key"] = "not a key"
	h.send(broken, "m3", tok)
	checkResult(t, h.outcome(), "fail", DetailNoPushToken,
		"invalid credentials.private_key: not PEM")

	staging := h.notifier("p8", 5)
	staging.Environment = "staging"
	h.send(staging, "m5", tok)
	checkResult(t, h.outcome(), "fail", DetailNoPushToken,
		"invalid environment: must be development or production")

	other := h.notifier("p8", 4)
	other.Provider = "carrier-pigeon" // no vendor package registers it
	h.send(other, "m4", tok)
	checkResult(t, h.outcome(), "fail", DetailNoPushToken, errNoVendor.Error())
	if got := len(h.received(tok)); got != 2 {
		t.Errorf("emulator saw %d requests, want still 2", got)
	}

	// Fixed again: the next push goes out.
	h.send(h.notifier("p8", 6), "m6", tok)
	checkResult(t, h.outcome(), "success", "", "")
}

func TestDeliveryIdleStopAndRegistryStop(t *testing.T) {
	h := newHarness(t, Options{IdleTimeout: 20 * time.Millisecond})
	n := h.notifier("p8", 1)

	h.send(n, "m1", "abcd01")
	checkResult(t, h.outcome(), "success", "", "")

	// The idle actor retires itself; poll the registry with a deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for h.liveActors() > 0 {
		if ctx.Err() != nil {
			t.Fatal("idle delivery actor did not stop")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// A new push makes a new actor and still works.
	h.send(n, "m2", "abcd01")
	checkResult(t, h.outcome(), "success", "", "")

	h.reg.Stop()
	h.send(n, "m3", "abcd01")
	checkResult(t, h.outcome(), "error", DetailPushFailed, ReasonShuttingDown)
}

func (h *harness) liveActors() int {
	h.reg.mu.Lock()
	defer h.reg.mu.Unlock()
	return len(h.reg.actors)
}

func TestDeliveryStopAnswersQueued(t *testing.T) {
	h := newHarness(t, Options{MaxInFlight: 1})
	n := h.notifier("p8", 1)

	// slow01 is in flight for about 2 s; slow02 waits in the queue.
	h.send(n, "m1", "slow01")
	h.send(n, "m2", "slow02")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for h.sim.Counters()["apns"].InFlight == 0 {
		if ctx.Err() != nil {
			t.Fatal("slow01 never reached the emulator")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Stop answers the queued push at once and lets slow01 finish.
	stopped := make(chan struct{})
	go func() {
		h.reg.Stop()
		close(stopped)
	}()
	o := h.outcome()
	if o.MsgId != "m2" {
		t.Fatalf("first outcome = %v, want m2 answered by Stop", o)
	}
	checkResult(t, o, "error", DetailPushFailed, ReasonShuttingDown)
	o = h.outcome()
	if o.MsgId != "m1" {
		t.Fatalf("second outcome = %v, want m1", o)
	}
	checkResult(t, o, "success", "", "")

	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("Stop did not return after the in-flight push ended")
	}
	if got := len(h.received("slow02")); got != 0 {
		t.Errorf("queued push reached the vendor %d times after Stop", got)
	}
}

func TestDeliverySendValidates(t *testing.T) {
	h := newHarness(t, Options{})
	disabled := h.notifier("p8", 1)
	disabled.Enabled = false

	h.send(disabled, "m1", "abcd")
	checkResult(t, h.outcome(), "fail", DetailDisabled, "")

	h.reg.Send("org#app", nil, &messages.Send{Recipient: "bob", DeviceId: "d1",
		NotifierName: "ios", MsgId: "m2", ReplyTo: h.replyTo})
	checkResult(t, h.outcome(), "fail", DetailNoNotifier, "")

	// Without reply_to nobody could hear the outcome: dropped, no panic.
	h.reg.Send("org#app", h.notifier("p8", 1), &messages.Send{DeviceToken: "abcd"})
	h.reg.Send("org#app", h.notifier("p8", 1), nil)

	if got := len(h.received("abcd")); got != 0 {
		t.Errorf("emulator saw %d requests, want none", got)
	}
	if got := h.liveActors(); got != 0 {
		t.Errorf("%d delivery actors started, want none", got)
	}
}
