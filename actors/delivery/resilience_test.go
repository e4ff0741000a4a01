package delivery

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendorsim"
)

var t0 = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)

func TestBreaker(t *testing.T) {
	cred := vendors.Result{Class: vendors.CredentialError, Reason: "TopicDisallowed"}
	ok := vendors.Result{Class: vendors.Delivered}
	retry := vendors.Result{Class: vendors.Retryable}

	b := breaker{interval: 30 * time.Second}
	if ok, probe := b.allow(t0); !ok || probe {
		t.Fatalf("closed allow = %v, %v, want true, false", ok, probe)
	}
	if !b.observe(cred, false, t0) || !b.open || b.reason != "TopicDisallowed" {
		t.Fatalf("credential error did not open: %+v", b)
	}
	if ok, _ := b.allow(t0.Add(30*time.Second - time.Millisecond)); ok {
		t.Fatal("open circuit allowed a push before the probe interval")
	}
	ok1, probe := b.allow(t0.Add(30 * time.Second))
	if !ok1 || !probe {
		t.Fatalf("allow at the probe time = %v, %v, want a probe", ok1, probe)
	}
	if ok, _ := b.allow(t0.Add(31 * time.Second)); ok {
		t.Fatal("second push allowed while the probe runs")
	}

	// A probe without a verdict waits another interval.
	b.observe(retry, true, t0.Add(32*time.Second))
	if ok, _ := b.allow(t0.Add(61 * time.Second)); ok {
		t.Fatal("probe allowed before an interval after a retryable probe")
	}
	_, probe = b.allow(t0.Add(62 * time.Second))
	if !probe {
		t.Fatal("no probe an interval after the retryable one")
	}
	if !b.observe(ok, true, t0.Add(62*time.Second)) || b.open {
		t.Fatalf("delivered probe did not close: %+v", b)
	}
}

func TestUnbindGuard(t *testing.T) {
	tests := []struct {
		name      string
		bad, good int
		want      bool
	}{
		{"19 of 19", 19, 0, false},
		{"20 of 20", 20, 0, true},
		{"20 of 40", 20, 20, false},
		{"21 of 40", 21, 19, true},
		{"30 of 100", 30, 70, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g unbindGuard
			got := false
			now := t0
			for range tt.good {
				got = g.observe(now, false)
			}
			for range tt.bad {
				now = now.Add(time.Second)
				got = g.observe(now, true)
			}
			if got != tt.want {
				t.Errorf("observe after %d bad, %d good = %v, want %v",
					tt.bad, tt.good, got, tt.want)
			}
		})
	}

	// Answers older than the window no longer count.
	var g unbindGuard
	for i := range 20 {
		g.observe(t0.Add(time.Duration(i)*time.Millisecond), true)
	}
	if g.observe(t0.Add(guardWindow+guardBucket), true) {
		t.Error("guard counted answers older than its window")
	}
}

func TestAmbiguousInvalidAndDailyCap(t *testing.T) {
	inv := func(status int, reason string) vendors.Result {
		return vendors.Result{Class: vendors.TokenInvalid, HTTPStatus: status, Reason: reason}
	}
	thr := func(reason string) vendors.Result {
		return vendors.Result{Class: vendors.Throttled, Reason: reason}
	}
	tests := []struct {
		provider  string
		res       vendors.Result
		ambiguous bool
		cap       bool
	}{
		{"apns", inv(400, "BadDeviceToken"), true, false},
		{"apns-voip", inv(400, "BadDeviceToken"), true, false},
		{"apns", inv(410, "Unregistered"), false, false},
		{"huawei", inv(200, "80300007"), true, false},
		{"fcm", inv(400, "BadDeviceToken"), false, false},
		{"oppo", thr("33"), false, true},
		{"vivo", thr("10070"), false, true},
		{"oppo", thr("-2"), false, false},
		{"vivo", thr("33"), false, false},
	}
	for _, tt := range tests {
		if got := ambiguousInvalid(tt.provider, tt.res); got != tt.ambiguous {
			t.Errorf("ambiguousInvalid(%s, %+v) = %v, want %v", tt.provider, tt.res, got,
				tt.ambiguous)
		}
		if got := dailyCap(tt.provider, tt.res); got != tt.cap {
			t.Errorf("dailyCap(%s, %+v) = %v, want %v", tt.provider, tt.res, got, tt.cap)
		}
	}
}

func TestNextShanghaiMidnight(t *testing.T) {
	tests := []struct{ now, want string }{
		{"2026-12-03T15:59:59Z", "2026-12-03T16:00:00Z"},
		{"2026-12-03T16:00:00Z", "2026-12-04T16:00:00Z"},
		{"2026-12-31T20:00:00Z", "2027-01-01T16:00:00Z"},
	}
	for _, tt := range tests {
		now, _ := time.Parse(time.RFC3339, tt.now)
		want, _ := time.Parse(time.RFC3339, tt.want)
		if got := nextShanghaiMidnight(now); !got.Equal(want) {
			t.Errorf("nextShanghaiMidnight(%s) = %s, want %s", tt.now, got.UTC(), tt.want)
		}
	}
}

// clock is a settable clock for the actor tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (h *harness) health(name string) NotifierHealth {
	h.t.Helper()
	for _, nh := range h.reg.Health() {
		if nh.AppKey == "org#app" && nh.Notifier == name {
			return nh
		}
	}
	h.t.Fatalf("no health entry for %s in %+v", name, h.reg.Health())
	return NotifierHealth{}
}

func TestDeliveryCircuitOpensAndProbes(t *testing.T) {
	clk := &clock{now: time.Now()}
	h := newHarness(t, Options{Now: clk.Now, ProbeInterval: time.Minute})
	bad := h.notifier("p8", 1)
	bad.Credentials["bundle_id"] = "com.example.other"

	h.send(bad, "m1", "aa01")
	o := h.outcome()
	if o.Result.Status != "fail" || o.Result.VendorReason != "TopicDisallowed" {
		t.Fatalf("first push = %v, want fail TopicDisallowed", o)
	}
	if nh := h.health("ios"); nh.State != StateUnhealthy || nh.Reason != "TopicDisallowed" {
		t.Fatalf("health = %+v, want unhealthy TopicDisallowed", nh)
	}

	// Fail fast: no request reaches the vendor.
	h.send(bad, "m2", "aa02")
	checkResult(t, h.outcome(), "fail", DetailPushFailed, ReasonUnhealthy)
	if n := len(h.received("aa02")); n != 0 {
		t.Fatalf("vendor saw %d requests from an unhealthy notifier, want 0", n)
	}

	// After the probe interval one push goes through as a probe.
	clk.add(time.Minute)
	h.send(bad, "m3", "aa03")
	if o := h.outcome(); o.Result.VendorReason != "TopicDisallowed" {
		t.Fatalf("probe = %v, want the vendor's TopicDisallowed", o)
	}
	if n := len(h.received("aa03")); n != 1 {
		t.Fatalf("vendor saw %d probe requests, want 1", n)
	}

	// Fixed credentials: a new client and a closed circuit.
	h.send(h.notifier("p8", 2), "m4", "aa04")
	checkResult(t, h.outcome(), "success", "", "")
	if nh := h.health("ios"); nh.State != StateHealthy {
		t.Fatalf("health after a fixed notifier = %+v, want healthy", nh)
	}
}

func TestDeliveryUnbindGuard(t *testing.T) {
	h := newHarness(t, Options{})
	n := h.notifier("p8", 1)
	for i := range guardMinCount - 1 {
		h.send(n, fmt.Sprint("m", i), fmt.Sprintf("baddev%02d", i))
		checkResult(t, h.outcome(), "fail", DetailPushFailed, "BadDeviceToken")
	}

	// The 20th of 20 answers: a mix-up, the binding is kept.
	h.send(n, "m-last", "baddev99")
	checkResult(t, h.outcome(), "fail", DetailPushFailed, ReasonMismatch)
	h.mu.Lock()
	unbinds := len(h.unbinds)
	h.mu.Unlock()
	if unbinds != guardMinCount-1 {
		t.Fatalf("unbinds = %d, want %d (none once the guard trips)", unbinds,
			guardMinCount-1)
	}
	if nh := h.health("ios"); nh.State != StateUnhealthy || nh.Reason != ReasonMismatch {
		t.Fatalf("health = %+v, want unhealthy %q", nh, ReasonMismatch)
	}
}

func TestDeliveryThrottleHalvesCap(t *testing.T) {
	h := newHarness(t, Options{MaxInFlight: 64})
	n := h.notifier("p8", 1)
	h.send(n, "m0", "aa00")
	checkResult(t, h.outcome(), "success", "", "")

	// One push throttled three times (first attempt, two retries).
	h.send(n, "m1", "throttle01")
	checkResult(t, h.outcome(), "error", DetailPushFailed, "TooManyRequests")

	// APNs shrank the connection to 1 stream after the rejection; a
	// success restores it, and the cap is then the halved one.
	h.send(n, "m2", "aa02")
	checkResult(t, h.outcome(), "success", "", "")
	h.send(n, "m3", "aa03")
	checkResult(t, h.outcome(), "success", "", "")
	nh := h.health("ios")
	if nh.InFlightCap != 8 || nh.Rate < 1 {
		t.Fatalf("health after 3 throttles = %+v, want in-flight cap 64/8 = 8, a rate", nh)
	}
}

func TestDeliveryDailyCapPauses(t *testing.T) {
	var mu sync.Mutex
	var told []string
	h := newHarness(t, Options{OnDailyCap: func(app, name string, until time.Time) {
		mu.Lock()
		told = append(told, app+"/"+name)
		mu.Unlock()
	}}, oppoQuota(1))
	oppo := &messages.Notifier{Name: "oppo", Provider: "oppo", Enabled: true, Modified: 1,
		Endpoint: h.sim.Endpoint("oppo"), AuthEndpoint: h.sim.Endpoint("oppo"),
		Credentials: h.creds.Vendors["oppo"]}
	send := func(msgID string) *messages.SendOutcome {
		h.reg.Send("org#app", oppo, &messages.Send{AppKey: "org#app", NotifierName: "oppo",
			Recipient: "bob", DeviceId: "d1", DeviceToken: "regid-" + msgID, MsgId: msgID,
			ReplyTo: h.replyTo, Notification: &messages.Notification{Title: "Hi",
				Body: "there", CollapseKey: msgID}})
		return h.outcome()
	}

	if o := send("m1"); o.Result.Status != "success" {
		t.Fatalf("first push = %v, want success", o)
	}
	if o := send("m2"); o.Result.Status != "error" || o.Result.VendorReason != "33" {
		t.Fatalf("push over the quota = %v, want error 33", o)
	}
	if o := send("m3"); o.Result.Status != "error" || o.Result.VendorReason != ReasonDailyCap {
		t.Fatalf("push while paused = %v, want error %q", o, ReasonDailyCap)
	}
	if n := len(h.sim.Received(vendorsim.Filter{Vendor: "oppo", Token: "regid-m3"})); n != 0 {
		t.Fatalf("vendor saw %d requests while paused, want 0", n)
	}
	nh := h.health("oppo")
	want := nextShanghaiMidnight(time.Now())
	if nh.State != StatePaused || !nh.Until.Equal(want) || nh.InFlightCap != oemStreams {
		t.Fatalf("health = %+v, want paused until %v, in-flight cap %d", nh, want,
			oemStreams)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 1 || told[0] != "org#app/oppo" {
		t.Fatalf("OnDailyCap calls = %v, want one for org#app/oppo", told)
	}
}

func TestRegistryPauseValidates(t *testing.T) {
	h := newHarness(t, Options{})
	future := time.Now().Add(time.Hour)
	if err := h.reg.Pause("", "n", future); err == nil {
		t.Error("Pause with an empty app key succeeded")
	}
	if err := h.reg.Pause("org#app", "", future); err == nil {
		t.Error("Pause with an empty notifier succeeded")
	}
	if err := h.reg.Pause("org#app", "n", time.Now().Add(-time.Second)); err == nil {
		t.Error("Pause until a past time succeeded")
	}
	if len(h.reg.Health()) != 0 {
		t.Errorf("refused pauses made actors: %+v", h.reg.Health())
	}
	if err := h.reg.Pause("org#app", "n", future); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if hs := h.reg.Health(); len(hs) == 1 && hs[0].State == StatePaused {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("Health after Pause = %+v, want one paused notifier", h.reg.Health())
}

// editConfig rewrites the emulator's credentials config through edit.
func editConfig(t *testing.T, file string, edit func(cfg map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	out, _ := yaml.Marshal(cfg)
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// oppoQuota sets the daily quota of the emulator's OPPO app.
func oppoQuota(quota int) func(cfg map[string]any) {
	return func(cfg map[string]any) {
		app := cfg["oppo"].(map[string]any)["apps"].([]any)[0].(map[string]any)
		app["daily_quota"] = quota
	}
}
