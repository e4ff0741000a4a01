package meizu

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

// startSim runs vendorsim with fresh credentials and trusts its CA.
func startSim(t *testing.T) (*vendorsim.Sim, map[string]string) {
	sim, creds := simtest.Start(t, "", nil)
	return sim, creds.Vendors[vendorsim.VendorMeizu]
}

func newSimClient(t *testing.T, sim *vendorsim.Sim, fields map[string]string) vendors.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	factory, ok := vendors.Lookup(Provider)
	if !ok {
		t.Fatal("meizu is not registered")
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

func push(t *testing.T, c vendors.Client, token, msgID string) vendors.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := &messages.Notification{Title: "您有一条新消息", Body: "请点击查看", CollapseKey: msgID,
		Custom: []byte(`{"f":"alice","t":"bob","m":"` + msgID + `"}`)}
	return c.Push(ctx, token, n, "")
}

func TestSimDelivers(t *testing.T) {
	sim, fields := startSim(t)
	c := newSimClient(t, sim, fields)
	res := push(t, c, "pid-good-1", "m1")
	if res.Class != vendors.Delivered || res.VendorID == "" || res.Err != nil {
		t.Fatalf("push: %+v", res)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := sim.Wait(ctx, 1, vendorsim.Filter{Vendor: Provider})
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	if r.Token != "pid-good-1" || r.App != fields["app_id"] || r.Auth.Scheme != "sign" ||
		r.Outcome != vendorsim.OutcomeDelivered || r.VendorCode != "200" {
		t.Errorf("record = %+v", r)
	}
	var form struct {
		MessageJSON struct {
			NoticeBarInfo map[string]any `json:"noticeBarInfo"`
			ClickTypeInfo struct {
				Parameters map[string]string `json:"parameters"`
			} `json:"clickTypeInfo"`
		} `json:"messageJson"`
	}
	if err := json.Unmarshal(r.Payload, &form); err != nil {
		t.Fatalf("payload %s: %v", r.Payload, err)
	}
	if form.MessageJSON.NoticeBarInfo["title"] != "您有一条新消息" ||
		form.MessageJSON.ClickTypeInfo.Parameters["m"] != "m1" {
		t.Errorf("payload = %s", r.Payload)
	}
}

func TestSimMagicTokens(t *testing.T) {
	sim, fields := startSim(t)
	c := newSimClient(t, sim, fields)
	tests := []struct {
		token  string
		class  vendors.Class
		reason string
	}{
		{"dead-1", vendors.TokenInvalid, "110003"},
		{"baddev-1", vendors.TokenInvalid, "110003"},
		{"fail-1", vendors.Retryable, "1001"},
		{"throttle-1", vendors.Throttled, "1003"},
		{"flaky-1", vendors.Retryable, "1001"},
	}
	for _, tt := range tests {
		res := push(t, c, tt.token, "m1")
		if res.Class != tt.class || res.Reason != tt.reason {
			t.Errorf("%s: %+v, want %v %q", tt.token, res, tt.class, tt.reason)
		}
	}
	if res := push(t, c, "flaky-1", "m1"); res.Class != vendors.Delivered {
		t.Errorf("flaky second attempt: %+v", res)
	}
}

func TestSimCredentialAndPayloadErrors(t *testing.T) {
	sim, fields := startSim(t)
	copyWith := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range fields {
			m[kk] = vv
		}
		m[k] = v
		return m
	}

	res := push(t, newSimClient(t, sim, copyWith("app_secret", "wrong")), "pid-1", "m1")
	if res.Class != vendors.CredentialError || res.Reason != "1006" {
		t.Errorf("wrong secret: %+v, want credential-error 1006", res)
	}
	res = push(t, newSimClient(t, sim, copyWith("app_id", "1")), "pid-1", "m1")
	if res.Class != vendors.CredentialError || res.Reason != "110000" {
		t.Errorf("unknown app: %+v, want credential-error 110000", res)
	}

	// An empty title is Herald's bug; Meizu refuses it.
	c := newSimClient(t, sim, fields)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res = c.Push(ctx, "pid-1", &messages.Notification{Body: "b"}, "")
	if res.Class != vendors.PayloadError || res.Reason != "1005" {
		t.Errorf("empty title: %+v, want payload-error 1005", res)
	}
}
