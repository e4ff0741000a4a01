package vivo

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendorsim"
	"github.com/herald-im/herald/vendorsim/simtest"
)

// startSim runs vendorsim with fresh credentials, the keys of tune set in
// its vivo section.
func startSim(t *testing.T, tune map[string]any) (*vendorsim.Sim, map[string]string) {
	var edit func(map[string]any)
	if tune != nil {
		edit = func(sec map[string]any) {
			for k, v := range tune {
				sec[k] = v
			}
		}
	}
	sim, creds := simtest.Start(t, vendorsim.VendorVivo, edit)
	return sim, creds.Vendors[vendorsim.VendorVivo]
}

// newSimClient builds a client through the registered factory, as the
// delivery actor does.
func newSimClient(t *testing.T, sim *vendorsim.Sim, fields map[string]string) vendors.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	factory, ok := vendors.Lookup(Provider)
	if !ok {
		t.Fatal("vivo is not registered")
	}
	c, err := factory(vendors.Config{
		Notifier: &messages.Notifier{Provider: Provider, Endpoint: sim.Endpoint(Provider),
			AuthEndpoint: sim.Endpoint(Provider), Credentials: fields, Enabled: true},
		RootCAs: pool,
	})
	if err != nil {
		t.Fatalf("factory: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func note(msgID string) *messages.Notification {
	return &messages.Notification{Title: "您有一条新消息", Body: "请点击查看",
		CollapseKey: msgID, Custom: []byte(`{"f":"alice","t":"bob","m":"` + msgID + `"}`)}
}

func push(t *testing.T, c vendors.Client, token, msgID string) vendors.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return c.Push(ctx, token, note(msgID), "req-"+msgID)
}

func waitRecords(t *testing.T, sim *vendorsim.Sim, n int, f vendorsim.Filter) []vendorsim.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.Vendor = vendorsim.VendorVivo
	recs, err := sim.Wait(ctx, n, f)
	if err != nil {
		t.Fatalf("wait for %d records: %v", n, err)
	}
	return recs
}

func TestSimDeliversAndReusesToken(t *testing.T) {
	sim, fields := startSim(t, nil)
	c := newSimClient(t, sim, fields)

	for i, id := range []string{"m1", "m2", "m3"} {
		res := push(t, c, "regid-good-1", id)
		if res.Class != vendors.Delivered || res.VendorID == "" || res.Err != nil {
			t.Fatalf("push %d: %+v", i, res)
		}
	}
	if got := sim.Counters()[Provider].TokenFetches; got != 1 {
		t.Errorf("token fetches = %d, want 1 for three pushes", got)
	}

	recs := waitRecords(t, sim, 3, vendorsim.Filter{})
	r := recs[0]
	if r.Path != "/message/send" || r.Token != "regid-good-1" || r.App != fields["app_id"] ||
		r.Auth.Subject != fields["app_id"] || r.Outcome != vendorsim.OutcomeDelivered {
		t.Errorf("record = %+v", r)
	}
	if r.Headers["authtoken"] != "***" {
		t.Errorf("recorded authToken header %q, want it masked", r.Headers["authtoken"])
	}
	var body map[string]any
	if err := json.Unmarshal(r.Payload, &body); err != nil {
		t.Fatal(err)
	}
	if body["requestId"] != "req-m1" || body["title"] != "您有一条新消息" ||
		body["notifyType"] != 4.0 {
		t.Errorf("payload = %v", body)
	}
}

func TestSimTokenRefusedIsRefetchedOnce(t *testing.T) {
	sim, fields := startSim(t, nil)
	c := newSimClient(t, sim, fields)
	if res := push(t, c, "regid-1", "m1"); res.Class != vendors.Delivered {
		t.Fatalf("first push: %+v", res)
	}

	// Reset forgets every issued authToken: the cached one is now unknown.
	sim.Reset()
	res := push(t, c, "regid-1", "m2")
	if res.Class != vendors.Delivered {
		t.Fatalf("push after reset: %+v", res)
	}
	recs := waitRecords(t, sim, 2, vendorsim.Filter{})
	if recs[0].VendorCode != "10000" || recs[0].Outcome != vendorsim.OutcomeCredentialError ||
		recs[1].Outcome != vendorsim.OutcomeDelivered {
		t.Errorf("records: %s/%s then %s/%s, want 10000 then delivered", recs[0].VendorCode,
			recs[0].Outcome, recs[1].VendorCode, recs[1].Outcome)
	}
	if got := sim.Counters()[Provider].TokenFetches; got != 1 {
		t.Errorf("token fetches after reset = %d, want 1", got)
	}
}

func TestSimSecondRefusalIsCredentialError(t *testing.T) {
	// Every authToken expires as it is issued: the resend is refused too.
	sim, fields := startSim(t, map[string]any{"token_ttl": "1ns"})
	c := newSimClient(t, sim, fields)

	res := push(t, c, "regid-1", "m1")
	if res.Class != vendors.CredentialError || res.Reason != "10000" {
		t.Fatalf("push: %+v, want credential-error 10000", res)
	}
	recs := waitRecords(t, sim, 2, vendorsim.Filter{})
	if len(recs) != 2 || sim.Counters()[Provider].Requests != 2 {
		t.Errorf("sends = %d, want exactly 2 (one resend)", sim.Counters()[Provider].Requests)
	}
}

func TestSimMagicTokens(t *testing.T) {
	sim, fields := startSim(t, nil)
	c := newSimClient(t, sim, fields)
	tests := []struct {
		token  string
		class  vendors.Class
		reason string
		status int
	}{
		{"dead-1", vendors.TokenInvalid, "10302", 200},
		{"baddev-1", vendors.TokenInvalid, "10302", 200},
		{"fail-1", vendors.Retryable, "", 500},
		{"throttle-1", vendors.Throttled, "", 429},
		{"flaky-1", vendors.Retryable, "", 503},
	}
	for _, tt := range tests {
		res := push(t, c, tt.token, "m1")
		if res.Class != tt.class || res.Reason != tt.reason || res.HTTPStatus != tt.status {
			t.Errorf("%s: %+v, want %v %q %d", tt.token, res, tt.class, tt.reason, tt.status)
		}
		if tt.status == 429 || tt.status == 503 {
			if res.RetryAfter != time.Second {
				t.Errorf("%s: RetryAfter = %v, want 1s", tt.token, res.RetryAfter)
			}
		}
	}

	// A flaky token succeeds on its second attempt of the same push.
	if res := push(t, c, "flaky-1", "m1"); res.Class != vendors.Delivered {
		t.Errorf("flaky second attempt: %+v", res)
	}
}

func TestSimPayloadAndCredentialErrors(t *testing.T) {
	sim, fields := startSim(t, nil)

	// A category vivo does not know is refused with a payload error.
	bad := map[string]string{}
	for k, v := range fields {
		bad[k] = v
	}
	bad["category"] = "GOSSIP"
	res := push(t, newSimClient(t, sim, bad), "regid-1", "m1")
	if res.Class != vendors.PayloadError || res.Reason != "10057" {
		t.Errorf("bad category: %+v, want payload-error 10057", res)
	}

	// A wrong secret makes the auth signature fail.
	wrong := map[string]string{}
	for k, v := range fields {
		wrong[k] = v
	}
	wrong["app_secret"] = "not-the-secret"
	before := sim.Counters()[Provider]
	res = push(t, newSimClient(t, sim, wrong), "regid-1", "m1")
	if res.Class != vendors.CredentialError || res.Reason != "10000" {
		t.Errorf("wrong secret: %+v, want credential-error 10000", res)
	}
	after := sim.Counters()[Provider]
	if after.Requests != before.Requests || after.TokenFetches != before.TokenFetches+1 {
		t.Errorf("wrong secret: %d sends and %d token fetches, want 0 and 1",
			after.Requests-before.Requests, after.TokenFetches-before.TokenFetches)
	}

	// Another app's id is refused with 10094.
	wrong["app_id"], wrong["app_secret"] = "999999", fields["app_secret"]
	res = push(t, newSimClient(t, sim, wrong), "regid-1", "m1")
	if res.Class != vendors.CredentialError || res.Reason != "10094" {
		t.Errorf("foreign app id: %+v, want credential-error 10094", res)
	}
}

func TestSimDailyQuota(t *testing.T) {
	sim, fields := startSim(t, map[string]any{"daily_quota": 2})
	c := newSimClient(t, sim, fields)
	for _, id := range []string{"m1", "m2"} {
		if res := push(t, c, "regid-1", id); res.Class != vendors.Delivered {
			t.Fatalf("push %s: %+v", id, res)
		}
	}
	res := push(t, c, "regid-1", "m3")
	if res.Class != vendors.Throttled || res.Reason != "10070" || res.RetryAfter <= 0 ||
		res.RetryAfter > 24*time.Hour {
		t.Errorf("over the cap: %+v, want throttled 10070 until midnight", res)
	}
}
