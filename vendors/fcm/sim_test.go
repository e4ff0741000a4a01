package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendorsim"
	"github.com/herald-im/herald/vendorsim/simtest"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tWriter routes logs to t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// startSim runs vendorsim with fresh credentials and trusts its CA.
func startSim(t *testing.T) (*vendorsim.Sim, *vendorsim.Creds) {
	return simtest.Start(t, "", nil)
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// simNotifier is an fcm notifier pointing at the emulator for both sends
// and tokens; extra fields are merged into the credentials.
func simNotifier(sim *vendorsim.Sim, creds *vendorsim.Creds,
	extra map[string]string) *messages.Notifier {
	fields := map[string]string{}
	for k, v := range creds.Vendors[vendorsim.VendorFCM] {
		fields[k] = v
	}
	for k, v := range extra {
		fields[k] = v
	}
	base := sim.Endpoint(vendorsim.VendorFCM)
	return &messages.Notifier{Name: "fcm", Provider: Provider, Enabled: true,
		Endpoint: base, AuthEndpoint: base, Credentials: fields}
}

func simClient(t *testing.T, n *messages.Notifier, now func() time.Time,
	timeout time.Duration) *Client {
	t.Helper()
	c, err := newClient(vendors.Config{Notifier: n, RootCAs: vendors.TrustPool(),
		Logger: testLogger(t), RequestTimeout: timeout, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.(*Client)
}

func tokenFetches(sim *vendorsim.Sim) uint64 {
	return sim.Counters()[vendorsim.VendorFCM].TokenFetches
}

var simNote = &messages.Notification{Title: "Hi", Body: "there", HasBadge: true, Badge: 3,
	CollapseKey: "m1", Custom: []byte(`{"f":"ann","t":"bob","m":"m1","e":{"k":1}}`)}

func TestClientAgainstVendorsim(t *testing.T) {
	sim, creds := startSim(t)
	c := simClient(t, simNotifier(sim, creds, nil), nil, 300*time.Millisecond)

	tests := []struct {
		name   string
		token  string
		class  vendors.Class
		status int
		reason string
		retry  time.Duration
	}{
		{"delivered", "tok-1", vendors.Delivered, 200, "", 0},
		{"dead", "dead-1", vendors.TokenInvalid, 404, CodeUnregistered, 0},
		{"baddev", "baddev-1", vendors.TokenInvalid, 400, CodeInvalidArgument, 0},
		{"malformed token", "has space", vendors.TokenInvalid, 400, CodeInvalidArgument, 0},
		{"throttle", "throttle-1", vendors.Throttled, 429, CodeQuotaExceeded, time.Second},
		{"fail", "fail-1", vendors.Retryable, 500, CodeInternal, 0},
		{"flaky first", "flaky-1", vendors.Retryable, 503, CodeUnavailable, time.Second},
		{"flaky again", "flaky-1", vendors.Delivered, 200, "", 0},
		{"refuse first", "refuse-1", vendors.Retryable, 503, CodeUnavailable, time.Second},
		{"refuse again", "refuse-1", vendors.Delivered, 200, "", 0},
		{"hang times out", "hang-1", vendors.Retryable, 0, "", 0},
	}
	for _, tt := range tests {
		r := c.Push(context.Background(), tt.token, simNote, "")
		if r.Class != tt.class || r.HTTPStatus != tt.status || r.Reason != tt.reason ||
			r.RetryAfter != tt.retry {
			t.Errorf("%s: Push = %+v, want %v %d %q retry-after %v", tt.name, r, tt.class,
				tt.status, tt.reason, tt.retry)
		}
		if tt.class == vendors.Delivered && !strings.HasPrefix(r.VendorID, "projects/") {
			t.Errorf("%s: VendorID = %q, want the message name", tt.name, r.VendorID)
		}
	}

	// Every answer came with one access token, fetched once.
	if got := tokenFetches(sim); got != 1 {
		t.Errorf("token fetches = %d, want 1", got)
	}
	recs := sim.Received(vendorsim.Filter{Token: "tok-1"})
	if len(recs) != 1 || recs[0].Outcome != vendorsim.OutcomeDelivered {
		t.Fatalf("emulator records for tok-1 = %+v, want one delivered", recs)
	}
	hang := c.Push(context.Background(), "hang-2", simNote, "")
	if !errors.Is(hang.Err, context.DeadlineExceeded) {
		t.Errorf("hang: Err = %v, want a deadline", hang.Err)
	}
}

func TestClientWireFormatAtVendorsim(t *testing.T) {
	sim, creds := startSim(t)
	n := simNotifier(sim, creds, map[string]string{"channel_id": "chat", "sound": "ping"})
	c := simClient(t, n, nil, 0)

	r := c.Push(context.Background(), "tok-wire", simNote, "")
	if r.Class != vendors.Delivered {
		t.Fatalf("Push = %+v, want delivered", r)
	}
	recs := sim.Received(vendorsim.Filter{Token: "tok-wire"})
	if len(recs) != 1 {
		t.Fatalf("emulator saw %d requests, want 1", len(recs))
	}
	rec := recs[0]
	var account struct {
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
	}
	if err := json.Unmarshal([]byte(n.Credentials["service_account"]), &account); err != nil {
		t.Fatal(err)
	}
	if rec.Path != "/v1/projects/"+account.ProjectID+"/messages:send" ||
		rec.App != account.ProjectID {
		t.Errorf("path %q app %q, want project %q", rec.Path, rec.App, account.ProjectID)
	}
	if rec.Auth.Scheme != "bearer" || rec.Auth.Subject != account.ClientEmail {
		t.Errorf("auth = %+v, want bearer of %s", rec.Auth, account.ClientEmail)
	}
	want := `{"message":{"token":"tok-wire","notification":{"title":"Hi","body":"there"},` +
		`"data":{"e":"{\"k\":1}","f":"ann","m":"m1","t":"bob"},` +
		`"android":{"priority":"HIGH","ttl":"86400s","notification":{"sound":"ping",` +
		`"channel_id":"chat","notification_count":3,"tag":"m1"}}}}`
	if string(rec.Payload) != want {
		t.Errorf("payload\n got %s\nwant %s", rec.Payload, want)
	}
}

// TestClientTokenRenewal moves the client's clock: the access token is
// reused until 80 % of its lifetime, then fetched again.
func TestClientTokenRenewal(t *testing.T) {
	sim, creds := startSim(t)
	// The JWT's iat follows the client's clock; starting 50 minutes back
	// keeps every assertion within the emulator's "not in the future".
	clk := &clock{now: time.Now().Add(-50 * time.Minute)}
	c := simClient(t, simNotifier(sim, creds, nil), clk.Now, 0)

	push := func(want uint64) {
		t.Helper()
		r := c.Push(context.Background(), "tok-renew", simNote, "")
		if r.Class != vendors.Delivered {
			t.Fatalf("Push = %+v, want delivered", r)
		}
		if got := tokenFetches(sim); got != want {
			t.Fatalf("token fetches = %d, want %d", got, want)
		}
	}
	push(1)
	clk.Add(47 * time.Minute) // emulator: expires_in 3599 s; 80 % is 47m59s
	push(1)
	clk.Add(time.Minute)
	push(2)
	push(2)
}

// TestClientExpiredTokenResentOnce: a token the emulator no longer takes is
// replaced and the push resent once, outside the retry budget.
func TestClientExpiredTokenResentOnce(t *testing.T) {
	sim, creds := startSim(t)
	c := simClient(t, simNotifier(sim, creds, nil), nil, 0)
	if r := c.Push(context.Background(), "tok-a", simNote, ""); r.Class != vendors.Delivered {
		t.Fatalf("first Push = %+v", r)
	}
	if !sim.ExpireVendorTokens(vendorsim.VendorFCM) {
		t.Fatal("emulator has no fcm vendor")
	}

	r := c.Push(context.Background(), "tok-b", simNote, "")
	if r.Class != vendors.Delivered {
		t.Fatalf("Push after expiry = %+v, want delivered after one refresh", r)
	}
	if got := tokenFetches(sim); got != 2 {
		t.Errorf("token fetches = %d, want 2", got)
	}
	recs := sim.Received(vendorsim.Filter{Token: "tok-b"})
	if len(recs) != 2 || recs[0].Status != 401 || recs[1].Status != 200 {
		t.Errorf("emulator saw %+v, want 401 then 200", recs)
	}
}

func TestClientCredentialErrors(t *testing.T) {
	sim, creds := startSim(t)

	// A key the emulator does not know: the token endpoint refuses it.
	other, err := vendorsim.GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := simNotifier(sim, creds, other.Vendors[vendorsim.VendorFCM])
	r := simClient(t, n, nil, 0).Push(context.Background(), "tok-1", simNote, "")
	if r.Class != vendors.CredentialError || r.Reason != "invalid_grant" ||
		!errors.Is(r.Err, ErrTokenRefused) {
		t.Errorf("unknown account: Push = %+v, want credential-error invalid_grant", r)
	}

	// A project the account does not belong to: 403.
	n = simNotifier(sim, creds, map[string]string{"project_id": "someone-else"})
	r = simClient(t, n, nil, 0).Push(context.Background(), "tok-1", simNote, "")
	if r.Class != vendors.CredentialError || r.HTTPStatus != 403 {
		t.Errorf("other project: Push = %+v, want 403 credential-error", r)
	}

	// The service account's clock is two hours behind: every assertion
	// has expired.
	late := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	r = simClient(t, simNotifier(sim, creds, nil), late, 0).Push(context.Background(),
		"tok-1", simNote, "")
	if r.Class != vendors.CredentialError {
		t.Errorf("expired assertion: Push = %+v, want credential-error", r)
	}
	if len(sim.Received(vendorsim.Filter{Vendor: vendorsim.VendorFCM, Token: "tok-1"})) != 1 {
		t.Errorf("emulator saw sends without a valid token")
	}
}

func TestClientTokenEndpointDown(t *testing.T) {
	sim, creds := startSim(t)
	n := simNotifier(sim, creds, nil)
	n.AuthEndpoint = "https://127.0.0.1:1" // nothing listens on port 1
	r := simClient(t, n, nil, time.Second).Push(context.Background(), "tok-1", simNote, "")
	if r.Class != vendors.Retryable || !errors.Is(r.Err, ErrTokenUnavailable) {
		t.Errorf("Push = %+v, want retryable token endpoint unavailable", r)
	}
}

func TestClientPayloadErrors(t *testing.T) {
	sim, creds := startSim(t)
	c := simClient(t, simNotifier(sim, creds, nil), nil, 0)

	huge := &messages.Notification{Title: "t",
		Custom: []byte(`{"e":"` + strings.Repeat("x", MaxPayload) + `"}`)}
	r := c.Push(context.Background(), "tok-1", huge, "")
	if r.Class != vendors.PayloadError || !errors.Is(r.Err, vendors.ErrPayloadTooLarge) {
		t.Errorf("huge custom: Push = %+v, want payload-error without a request", r)
	}
	// A reserved data key is refused by FCM itself.
	reserved := &messages.Notification{Title: "t", Custom: []byte(`{"from":"x"}`)}
	r = c.Push(context.Background(), "tok-2", reserved, "")
	if r.Class != vendors.PayloadError || r.HTTPStatus != 400 || r.Reason != CodeInvalidArgument {
		t.Errorf("reserved key: Push = %+v, want 400 payload-error", r)
	}
	if got := len(sim.Received(vendorsim.Filter{Vendor: vendorsim.VendorFCM})); got != 1 {
		t.Errorf("emulator saw %d requests, want 1 (the reserved key)", got)
	}
}

func TestClientConcurrentPushes(t *testing.T) {
	sim, creds := startSim(t)
	c := simClient(t, simNotifier(sim, creds, nil), nil, 0)

	const pushes = 300
	var wg sync.WaitGroup
	results := make([]vendors.Result, pushes)
	for i := range pushes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.Push(context.Background(), "tok-"+strings.Repeat("a", i%50+1),
				&messages.Notification{Body: "b"}, "")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Class != vendors.Delivered {
			t.Fatalf("push %d = %+v, want delivered", i, r)
		}
	}
	if got := tokenFetches(sim); got != 1 {
		t.Errorf("token fetches = %d, want 1 (single-flight)", got)
	}
	if got := len(sim.Received(vendorsim.Filter{Vendor: vendorsim.VendorFCM})); got != pushes {
		t.Errorf("emulator saw %d pushes, want %d", got, pushes)
	}
}
