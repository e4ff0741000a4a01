package honor

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendorsim"
	"github.com/herald-im/herald/vendorsim/simtest"
)

// startSim runs vendorsim with its honor section changed by edit when given.
func startSim(t *testing.T, edit func(sec map[string]any)) (*vendorsim.Sim, map[string]string) {
	sim, creds := simtest.Start(t, vendorsim.VendorHonor, edit)
	return sim, creds.Vendors[vendorsim.VendorHonor]
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// simClient builds a client of the notifier vendorsim accepts, with
// fields changed by edit and the clock now.
func simClient(t *testing.T, sim *vendorsim.Sim, fields map[string]string,
	edit func(n *messages.Notifier), now func() time.Time) *Client {
	t.Helper()
	n := &messages.Notifier{Provider: Provider, Endpoint: sim.Endpoint(Provider),
		AuthEndpoint: sim.Endpoint(Provider), Credentials: map[string]string{}, Enabled: true}
	for k, v := range fields {
		n.Credentials[k] = v
	}
	if edit != nil {
		edit(n)
	}
	c, err := newClient(vendors.Config{Notifier: n, RootCAs: vendors.TrustPool(),
		Logger: testLogger(t), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.(*Client)
}

func waitRecords(t *testing.T, sim *vendorsim.Sim, n int, token string) []vendorsim.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := sim.Wait(ctx, n, vendorsim.Filter{Vendor: Provider, Token: token})
	if err != nil {
		t.Fatalf("wait for %d records of %s: %v", n, token, err)
	}
	return recs
}

func TestClientDeliversAndReusesToken(t *testing.T) {
	sim, fields := startSim(t, nil)
	c := simClient(t, sim, fields, nil, nil)
	ctx := context.Background()

	for _, tok := range []string{"tokA", "tokB", "tokC"} {
		res := c.Push(ctx, tok, testNote(), "")
		if res.Class != vendors.Delivered || res.VendorID == "" || res.Err != nil {
			t.Fatalf("Push(%s) = %+v, want delivered with a request id", tok, res)
		}
	}
	if got := sim.Counters()[Provider].TokenFetches; got != 1 {
		t.Errorf("token fetches = %d, want 1 reused across pushes", got)
	}

	rec := waitRecords(t, sim, 1, "tokA")[0]
	if rec.Path != "/api/v1/"+fields["app_id"]+"/sendMessage" ||
		rec.App != fields["app_id"] || rec.Auth.Scheme != "bearer" {
		t.Errorf("record path %q app %q auth %+v", rec.Path, rec.App, rec.Auth)
	}
	if ct := rec.Headers["content-type"]; ct != contentType {
		t.Errorf("content-type = %q, want %q", ct, contentType)
	}
	if ts := rec.Headers["timestamp"]; len(ts) != 13 {
		t.Errorf("timestamp header = %q, want unix milliseconds", ts)
	}
	want, _ := BuildBody(testNote(), mustCreds(t, fields), "tokA")
	if string(rec.Payload) != string(want) {
		t.Errorf("vendorsim got\n%s\nwant\n%s", rec.Payload, want)
	}
}

func mustCreds(t *testing.T, f map[string]string) *Credentials {
	t.Helper()
	c, err := ParseCredentials(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientSingleFlightToken(t *testing.T) {
	sim, fields := startSim(t, nil)
	c := simClient(t, sim, fields, nil, nil)

	var wg sync.WaitGroup
	results := make([]vendors.Result, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.Push(context.Background(), "tok-par", testNote(), "")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Class != vendors.Delivered {
			t.Errorf("push %d = %+v", i, r)
		}
	}
	if got := sim.Counters()[Provider].TokenFetches; got != 1 {
		t.Errorf("token fetches = %d, want 1 for 20 concurrent pushes", got)
	}
	// HTTP/2: the token request's connection carries every push.
	if got := sim.Counters()[Provider].Connections; got != 1 {
		t.Errorf("connections = %d, want 1 (h2 multiplexing)", got)
	}
}

func TestClientRefreshesRefusedToken(t *testing.T) {
	tests := []struct {
		name   string
		refuse func(sim *vendorsim.Sim)
		code   string
	}{
		{"expired", func(sim *vendorsim.Sim) { sim.ExpireVendorTokens(Provider) }, "80200003"},
		{"unknown", func(sim *vendorsim.Sim) { sim.Reset() }, "80200001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, fields := startSim(t, nil)
			c := simClient(t, sim, fields, nil, nil)
			if res := c.Push(context.Background(), "tok0", testNote(), ""); res.Class !=
				vendors.Delivered {
				t.Fatalf("first push = %+v", res)
			}
			tt.refuse(sim)
			before := sim.Counters()[Provider].TokenFetches

			res := c.Push(context.Background(), "tok1", testNote(), "")
			if res.Class != vendors.Delivered {
				t.Fatalf("push after refusal = %+v, want delivered after one refresh", res)
			}
			if got := sim.Counters()[Provider].TokenFetches - before; got != 1 {
				t.Errorf("token fetches after refusal = %d, want 1", got)
			}
			recs := waitRecords(t, sim, 2, "tok1")
			if len(recs) != 2 || recs[0].VendorCode != tt.code || recs[0].Status != 401 ||
				recs[1].Outcome != vendorsim.OutcomeDelivered {
				t.Errorf("records = %+v, want %s then delivered", recs, tt.code)
			}
		})
	}
}

func TestClientSecondRefusalIsCredentialError(t *testing.T) {
	// Every token vendorsim issues is already expired.
	sim, fields := startSim(t, func(sec map[string]any) { sec["token_ttl"] = "1ns" })
	c := simClient(t, sim, fields, nil, nil)

	res := c.Push(context.Background(), "tok1", testNote(), "")
	if res.Class != vendors.CredentialError || res.Reason != "80200003" {
		t.Fatalf("Push = %+v, want credential-error 80200003", res)
	}
	if got := sim.Counters()[Provider].TokenFetches; got != 2 {
		t.Errorf("token fetches = %d, want 2 (one refresh only)", got)
	}
	if recs := waitRecords(t, sim, 2, "tok1"); len(recs) != 2 {
		t.Errorf("sends = %d, want 2", len(recs))
	}
}

func TestClientOutcomes(t *testing.T) {
	sim, fields := startSim(t, nil)
	c := simClient(t, sim, fields, nil, nil)

	badClick := testNote()
	badClick.AndroidExt = []byte(`{"honor_click_action":{"type":9}}`)
	tests := []struct {
		name       string
		token      string
		note       *messages.Notification
		class      vendors.Class
		reason     string
		retryAfter time.Duration
	}{
		{"dead", "dead-1", testNote(), vendors.TokenInvalid, "expireTokens", 0},
		{"baddev", "baddev-1", testNote(), vendors.TokenInvalid, "expireTokens", 0},
		{"flaky first attempt", "flaky-1", testNote(), vendors.Retryable, "failTokens", 0},
		{"flaky second attempt", "flaky-1", testNote(), vendors.Delivered, "", 0},
		{"fail", "fail-1", testNote(), vendors.Retryable, "500", 0},
		{"throttle", "throttle-1", testNote(), vendors.Throttled, "429", time.Second},
		{"payload refused", "tok-p", badClick, vendors.PayloadError, "80100003", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Push(context.Background(), tt.token, tt.note, "")
			if res.Class != tt.class || res.Reason != tt.reason ||
				res.RetryAfter != tt.retryAfter {
				t.Errorf("Push(%s) = %+v, want %v %q retry-after %v", tt.token, res,
					tt.class, tt.reason, tt.retryAfter)
			}
		})
	}
}

func TestClientLocalRefusals(t *testing.T) {
	sim, fields := startSim(t, nil)
	c := simClient(t, sim, fields, nil, nil)

	huge := testNote()
	huge.Custom = []byte(`{"e":"` + strings.Repeat("x", 5000) + `"}`)
	res := c.Push(context.Background(), "tok-big", huge, "")
	if res.Class != vendors.PayloadError || !errors.Is(res.Err, vendors.ErrPayloadTooLarge) {
		t.Errorf("huge custom: %+v, want payload-error ErrPayloadTooLarge", res)
	}
	res = c.Push(context.Background(), "bad token", testNote(), "")
	if res.Class != vendors.TokenInvalid || !errors.Is(res.Err, vendors.ErrBadDeviceToken) {
		t.Errorf("token with a space: %+v, want token-invalid", res)
	}
	if got := sim.Counters()[Provider].TokenFetches; got != 0 {
		t.Errorf("token fetches = %d, want 0: nothing was sent", got)
	}
	if recs := sim.Received(vendorsim.Filter{Vendor: Provider}); len(recs) != 0 {
		t.Errorf("vendorsim got %d requests, want none", len(recs))
	}

	c.Close()
	res = c.Push(context.Background(), "tok", testNote(), "")
	if res.Class != vendors.Retryable || !errors.Is(res.Err, vendors.ErrClosed) {
		t.Errorf("after Close: %+v, want retryable ErrClosed", res)
	}
}

func TestClientCredentialErrors(t *testing.T) {
	sim, fields := startSim(t, nil)
	wrong := simClient(t, sim, fields, func(n *messages.Notifier) {
		n.Credentials["client_secret"] = "not-the-secret"
	}, nil)
	res := wrong.Push(context.Background(), "tok", testNote(), "")
	if res.Class != vendors.CredentialError {
		t.Errorf("wrong secret: %+v, want credential-error", res)
	}
	if res.Err == nil || strings.Contains(res.Err.Error(), "not-the-secret") {
		t.Errorf("wrong secret error %v: want one without the secret", res.Err)
	}

	otherApp := simClient(t, sim, fields, func(n *messages.Notifier) {
		n.Credentials["app_id"] = "1234"
	}, nil)
	res = otherApp.Push(context.Background(), "tok", testNote(), "")
	if res.Class != vendors.CredentialError || res.Reason != "80300002" {
		t.Errorf("other app: %+v, want credential-error 80300002", res)
	}
}

func TestClientTokenEndpointDown(t *testing.T) {
	sim, fields := startSim(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + ln.Addr().String()
	ln.Close()

	c := simClient(t, sim, fields, func(n *messages.Notifier) { n.AuthEndpoint = down }, nil)
	res := c.Push(context.Background(), "tok", testNote(), "")
	if res.Class != vendors.Retryable || res.Err == nil {
		t.Errorf("token endpoint down: %+v, want retryable", res)
	}
}

// TestClientRenewsAtEightyPercent moves an injected clock through the
// token's lifetime (3600 s): renewal happens at 2880 s, not before.
func TestClientRenewsAtEightyPercent(t *testing.T) {
	sim, fields := startSim(t, nil)
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	c := simClient(t, sim, fields, nil, clock)

	steps := []struct {
		advance time.Duration
		fetches int
	}{
		{0, 1},
		{2880*time.Second - time.Millisecond, 1},
		{time.Millisecond, 2},
		{2879 * time.Second, 2},
		{time.Second, 3},
	}
	for i, s := range steps {
		advance(s.advance)
		if res := c.Push(context.Background(), "tok", testNote(), ""); res.Class !=
			vendors.Delivered {
			t.Fatalf("step %d: push = %+v", i, res)
		}
		if got := c.TokenFetches(); got != s.fetches {
			t.Errorf("step %d: client fetches = %d, want %d", i, got, s.fetches)
		}
		if got := int(sim.Counters()[Provider].TokenFetches); got != s.fetches {
			t.Errorf("step %d: vendorsim token fetches = %d, want %d", i, got, s.fetches)
		}
	}
}

func TestRender(t *testing.T) {
	n := &messages.Notifier{Provider: Provider, Credentials: map[string]string{
		"app_id": "104", "client_id": "c", "client_secret": "s"}}
	req, err := render(n, "tok", testNote())
	if err != nil {
		t.Fatal(err)
	}
	if req.URL != DefaultEndpoint+"/api/v1/104/sendMessage" || req.Method != "POST" ||
		req.Headers["content-type"] != contentType {
		t.Errorf("render = %s %s %v", req.Method, req.URL, req.Headers)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("render body: %v", err)
	}
	delete(n.Credentials, "app_id")
	var fe *vendors.FieldError
	if _, err := render(n, "tok", testNote()); !errors.As(err, &fe) {
		t.Errorf("render without app_id: %v, want FieldError", err)
	}
	if _, err := newClient(vendors.Config{Notifier: n}); !errors.As(err, &fe) ||
		fe.Field != "credentials.app_id" {
		t.Errorf("newClient without app_id: %v", err)
	}
}
