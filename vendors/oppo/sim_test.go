package oppo

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendorsim"
)

// simOpts changes the emulator's oppo section or the notifier under test.
type simOpts struct {
	tokenTTL   string // oppo.token_ttl
	dailyQuota int    // oppo.apps[0].daily_quota
	notifier   func(n *messages.Notifier)
	now        func() time.Time
}

// startSim runs an in-process vendorsim and a client of its oppo app;
// both stop when the test ends.
func startSim(t *testing.T, o simOpts) (*vendorsim.Sim, *Client) {
	t.Helper()
	creds, err := vendorsim.GenCreds(t.TempDir())
	if err != nil {
		t.Fatalf("GenCreds: %v", err)
	}
	if o.tokenTTL != "" || o.dailyQuota != 0 {
		editOPPOSection(t, creds.ConfigFile, o)
	}
	sim, err := vendorsim.Start(vendorsim.Config{CredsFile: creds.ConfigFile})
	if err != nil {
		t.Fatalf("vendorsim: %v", err)
	}
	t.Cleanup(func() { sim.Close() })

	n := &messages.Notifier{Provider: Provider, Endpoint: sim.Endpoint(Provider),
		AuthEndpoint: sim.Endpoint(Provider), Credentials: copyMap(creds.Vendors[Provider]),
		Enabled: true}
	if o.notifier != nil {
		o.notifier(n)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	f, _ := vendors.Lookup(Provider)
	vc, err := f(vendors.Config{Notifier: n, RootCAs: pool, RequestTimeout: 5 * time.Second,
		Now: o.now})
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	t.Cleanup(vc.Close)
	return sim, vc.(*Client)
}

func editOPPOSection(t *testing.T, file string, o simOpts) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	sec := cfg[Provider].(map[string]any)
	if o.tokenTTL != "" {
		sec["token_ttl"] = o.tokenTTL
	}
	if o.dailyQuota != 0 {
		sec["apps"].([]any)[0].(map[string]any)["daily_quota"] = o.dailyQuota
	}
	out, _ := yaml.Marshal(cfg)
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func records(t *testing.T, sim *vendorsim.Sim, n int) []vendorsim.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := sim.Wait(ctx, n, vendorsim.Filter{Vendor: Provider})
	if err != nil {
		t.Fatalf("wait for %d records: %v", n, err)
	}
	return recs
}

func fetches(sim *vendorsim.Sim) uint64 { return sim.Counters()[Provider].TokenFetches }

func TestSimDeliveredAndTokenReused(t *testing.T) {
	sim, c := startSim(t, simOpts{})
	ctx := context.Background()

	// Concurrent first pushes share one token fetch.
	var wg sync.WaitGroup
	results := make([]vendors.Result, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.Push(ctx, "regid-"+string(rune('a'+i)), testNote(), "")
		}()
	}
	wg.Wait()
	for i, res := range results {
		if res.Class != vendors.Delivered || res.VendorID == "" {
			t.Errorf("push %d = %+v, want delivered with a messageId", i, res)
		}
	}
	if res := c.Push(ctx, "regid-z", testNote(), ""); res.Class != vendors.Delivered {
		t.Errorf("later push = %+v", res)
	}
	if got := fetches(sim); got != 1 {
		t.Errorf("token fetches = %d, want 1 shared by 9 pushes", got)
	}

	r := records(t, sim, 9)[0]
	if r.Path != unicastPath || r.Auth.Scheme != "auth_token" || r.App != "im.herald.demo" {
		t.Errorf("record = %+v", r)
	}
	if r.Headers["auth_token"] != "***" {
		t.Errorf("recorded auth_token header %q, want masked", r.Headers["auth_token"])
	}
}

func TestSimExpiredTokenRefetchedOnce(t *testing.T) {
	sim, c := startSim(t, simOpts{})
	ctx := context.Background()
	if res := c.Push(ctx, "regid-1", testNote(), ""); res.Class != vendors.Delivered {
		t.Fatalf("first push = %+v", res)
	}

	// Reset makes the emulator forget every token: the next send is
	// refused with 11, then resent with a new token.
	sim.Reset()
	if res := c.Push(ctx, "regid-2", testNote(), ""); res.Class != vendors.Delivered {
		t.Fatalf("push after reset = %+v, want delivered after one refresh", res)
	}
	recs := records(t, sim, 2)
	if recs[0].VendorCode != "11" || recs[1].VendorCode != "0" || len(recs) != 2 {
		t.Errorf("codes after reset = %q, %q; want 11 then 0", recs[0].VendorCode,
			recs[1].VendorCode)
	}
	if got := fetches(sim); got != 1 {
		t.Errorf("token fetches since reset = %d, want 1", got)
	}
}

func TestSimSecondRefusalIsCredentialError(t *testing.T) {
	// Tokens die at once: the resend is refused too.
	sim, c := startSim(t, simOpts{tokenTTL: "1ns"})
	res := c.Push(context.Background(), "regid-1", testNote(), "")
	if res.Class != vendors.CredentialError || res.Reason != "11" {
		t.Fatalf("push = %+v, want credential-error 11", res)
	}
	if got := len(records(t, sim, 2)); got != 2 || fetches(sim) != 2 {
		t.Errorf("sends %d, fetches %d; want 2 and 2 (one refresh)", got, fetches(sim))
	}
}

func TestSimOutcomes(t *testing.T) {
	sim, c := startSim(t, simOpts{})
	tests := []struct {
		token  string
		want   vendors.Class
		reason string
	}{
		{"deadA", vendors.TokenInvalid, "10000"},
		{"baddevB", vendors.TokenInvalid, "10000"},
		{"flakyC", vendors.Retryable, "-1"},
		{"flakyC", vendors.Delivered, ""},
		{"failD", vendors.Retryable, "-1"},
		{"throttleE", vendors.Throttled, "-2"},
	}
	for _, tt := range tests {
		res := c.Push(context.Background(), tt.token, testNote(), "")
		if res.Class != tt.want || res.Reason != tt.reason {
			t.Errorf("Push(%s) = %v %q, want %v %q", tt.token, res.Class, res.Reason, tt.want,
				tt.reason)
		}
	}
	if got := len(records(t, sim, len(tests))); got != len(tests) {
		t.Errorf("vendorsim saw %d sends, want %d", got, len(tests))
	}

	n := testNote()
	n.Custom = []byte(`{"e":"` + strings.Repeat("x", MaxCustom) + `"}`)
	if res := c.Push(context.Background(), "r", n, ""); res.Class != vendors.PayloadError ||
		!errors.Is(res.Err, vendors.ErrPayloadTooLarge) {
		t.Errorf("oversized custom = %+v, want payload-error without a request", res)
	}
}

func TestSimDailyCap(t *testing.T) {
	_, c := startSim(t, simOpts{dailyQuota: 1})
	ctx := context.Background()
	if res := c.Push(ctx, "r1", testNote(), ""); res.Class != vendors.Delivered {
		t.Fatalf("first push = %+v", res)
	}
	res := c.Push(ctx, "r2", testNote(), "")
	if res.Class != vendors.Throttled || res.Reason != "33" {
		t.Errorf("push over the daily quota = %+v, want throttled 33", res)
	}
}

func TestSimAuthRefusals(t *testing.T) {
	tests := []struct {
		name   string
		o      simOpts
		reason string
	}{
		{"wrong master secret", simOpts{notifier: func(n *messages.Notifier) {
			n.Credentials["master_secret"] = "wrong"
		}}, "16"},
		{"unknown app key", simOpts{notifier: func(n *messages.Notifier) {
			n.Credentials["app_key"] = "nobody"
		}}, "14"},
		{"clock 11 minutes slow", simOpts{now: func() time.Time {
			return time.Now().Add(-11 * time.Minute)
		}}, "19"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c := startSim(t, tt.o)
			res := c.Push(context.Background(), "r1", testNote(), "")
			if res.Class != vendors.CredentialError || res.Reason != tt.reason ||
				!errors.Is(res.Err, ErrAuth) {
				t.Errorf("push = %+v, want credential-error %s", res, tt.reason)
			}
			if n := len(sim.Received(vendorsim.Filter{Vendor: Provider})); n != 0 {
				t.Errorf("%d sends reached the emulator without a token", n)
			}
		})
	}
}

func TestSimAuthEndpointDown(t *testing.T) {
	_, c := startSim(t, simOpts{notifier: func(n *messages.Notifier) {
		n.AuthEndpoint = "https://127.0.0.1:1"
	}})
	res := c.Push(context.Background(), "r1", testNote(), "")
	if res.Class != vendors.Retryable || !errors.Is(res.Err, ErrAuth) {
		t.Errorf("push with the auth host down = %+v, want retryable", res)
	}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestSimHangIsRetryable(t *testing.T) {
	_, c := startSim(t, simOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res := c.Push(ctx, "hangH1", testNote(), "")
	if res.Class != vendors.Retryable || res.Err == nil || res.HTTPStatus != 0 {
		t.Errorf("Push(hang) = %+v, want retryable without an answer", res)
	}
	if strings.Contains(res.Err.Error(), "hangH1") {
		t.Errorf("error %q names the device token", res.Err)
	}
}
