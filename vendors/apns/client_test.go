package apns

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

const testAPNsID = "8e9f3a52-1c7d-4b6e-9a0f-2d4c6b8e0a1c"

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

func newTestClient(t *testing.T, s *testAPNs, creds map[string]string, provider string) *Client {
	t.Helper()
	parsed, err := ParseCredentials(provider, creds)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{
		Credentials: parsed,
		Environment: Development,
		Endpoint:    s.srv.URL,
		RootCAs:     s.roots(),
		Logger:      testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestClientPushAnswers(t *testing.T) {
	tc := makeTestCreds(t)
	s := startTestAPNs(t, tc.pub)
	c := newTestClient(t, s, tc.p8, "apns")
	n := &messages.Notification{Title: "Hi", Body: "there", CollapseKey: "m1",
		Custom: []byte(`{"m":"m1"}`)}

	tests := []struct {
		token      string
		class      vendors.Class
		status     int
		reason     string
		retryAfter time.Duration
		timestamp  int64
	}{
		{"a1b2c3", vendors.Delivered, 200, "", 0, 0},
		{"dead01", vendors.TokenInvalid, 410, "Unregistered", 0, 1_700_000_000_123},
		{"baddev01", vendors.TokenInvalid, 400, "BadDeviceToken", 0, 0},
		{"flaky01", vendors.Retryable, 503, "ServiceUnavailable", time.Second, 0},
		{"flaky01", vendors.Delivered, 200, "", 0, 0},
		{"fail01", vendors.Retryable, 500, "", 0, 0},
		{"throttle01", vendors.Throttled, 429, "TooManyRequests", time.Second, 0},
	}
	for _, tt := range tests {
		r := c.Push(context.Background(), tt.token, n, testAPNsID)
		if r.Class != tt.class || r.HTTPStatus != tt.status || r.Reason != tt.reason ||
			r.RetryAfter != tt.retryAfter || r.Timestamp != tt.timestamp {
			t.Errorf("Push(%s) = %+v, want %v %d %q retry-after %v ts %d", tt.token, r,
				tt.class, tt.status, tt.reason, tt.retryAfter, tt.timestamp)
		}
		if r.Class == vendors.Delivered && r.VendorID != testAPNsID {
			t.Errorf("Push(%s).VendorID = %q, want %q", tt.token, r.VendorID, testAPNsID)
		}
	}

	// The request carried what BuildRequest made, with the JWT.
	reqs := s.requests()
	if len(reqs) != len(tests) {
		t.Fatalf("server saw %d requests, want %d", len(reqs), len(tests))
	}
	first := reqs[0]
	want := map[string]string{
		"apns-topic": "im.herald.test", "apns-push-type": "alert", "apns-priority": "10",
		"apns-collapse-id": "m1", "apns-id": testAPNsID,
	}
	for k, v := range want {
		if got := first.headers.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	wantBody := `{"aps":{"alert":{"title":"Hi","body":"there"},"sound":"default"},"m":"m1"}`
	if first.body != wantBody {
		t.Errorf("body = %s, want %s", first.body, wantBody)
	}
	if first.bearer == "" || first.tlsCert {
		t.Errorf("p8 push: bearer %v, client cert %v; want a JWT only", first.bearer != "",
			first.tlsCert)
	}
}

func TestClientP12Delivered(t *testing.T) {
	tc := makeTestCreds(t)
	s := startTestAPNs(t, nil) // no JWT key: only the certificate can pass
	c := newTestClient(t, s, tc.p12, "apns-voip")

	r := c.Push(context.Background(), "a1b2c3", &messages.Notification{Body: "call"}, testAPNsID)
	if r.Class != vendors.Delivered {
		t.Fatalf("Push = %+v, want delivered", r)
	}
	reqs := s.requests()
	if len(reqs) != 1 || !reqs[0].tlsCert || reqs[0].bearer != "" {
		t.Fatalf("server saw %+v, want one request with a client certificate", reqs)
	}
	if got := reqs[0].headers.Get("apns-topic"); got != "im.herald.test.voip" {
		t.Errorf("apns-topic = %q, want im.herald.test.voip", got)
	}
	if got := reqs[0].headers.Get("apns-push-type"); got != "voip" {
		t.Errorf("apns-push-type = %q, want voip", got)
	}
}

func TestClientRenewsRefusedJWTOnce(t *testing.T) {
	tc := makeTestCreds(t)

	t.Run("renewed", func(t *testing.T) {
		s := startTestAPNs(t, tc.pub)
		s.refuseJWTs = 1
		c := newTestClient(t, s, tc.p8, "apns")

		r := c.Push(context.Background(), "a1b2c3", &messages.Notification{Body: "b"}, testAPNsID)
		if r.Class != vendors.Delivered {
			t.Fatalf("Push = %+v, want delivered after one renewal", r)
		}
		reqs := s.requests()
		if len(reqs) != 2 || reqs[0].bearer == reqs[1].bearer {
			t.Fatalf("server saw %d requests (distinct JWTs: %v), want 2 with a new JWT",
				len(reqs), len(reqs) == 2 && reqs[0].bearer != reqs[1].bearer)
		}
	})

	t.Run("refused twice", func(t *testing.T) {
		s := startTestAPNs(t, tc.pub)
		s.refuseJWTs = 100
		c := newTestClient(t, s, tc.p8, "apns")

		r := c.Push(context.Background(), "a1b2c3", &messages.Notification{Body: "b"}, testAPNsID)
		if r.Class != vendors.CredentialError || r.Reason != ReasonExpiredProviderToken {
			t.Fatalf("Push = %+v, want credential-error ExpiredProviderToken", r)
		}
		if n := len(s.requests()); n != 2 {
			t.Errorf("server saw %d requests, want 2 (one renewal)", n)
		}
	})
}

func TestClientLocalFailures(t *testing.T) {
	tc := makeTestCreds(t)
	s := startTestAPNs(t, tc.pub)
	n := &messages.Notification{Body: "b"}

	// An expired certificate never reaches the wire.
	expired := map[string]string{"bundle_id": "im.herald.test", "auth_type": "p12",
		"certificate": makeP12(t, "pw", time.Now().Add(-time.Minute)), "password": "pw"}
	c := newTestClient(t, s, expired, "apns")
	r := c.Push(context.Background(), "a1b2c3", n, testAPNsID)
	if r.Class != vendors.CredentialError || !errors.Is(r.Err, ErrCertificateExpired) {
		t.Errorf("Push(expired cert) = %+v, want credential-error", r)
	}

	// A server the trust pool does not know is a network failure.
	parsed, _ := ParseCredentials("apns", tc.p8)
	untrusted, err := New(Config{Credentials: parsed, Endpoint: s.srv.URL,
		RootCAs: (&testAPNs{}).emptyRoots()})
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	if r := untrusted.Push(context.Background(), "a1b2c3", n, testAPNsID); r.Class !=
		vendors.Retryable || r.Err == nil {
		t.Errorf("Push(untrusted server) = %+v, want retryable with an error", r)
	}

	// Bad tokens, custom data and a closed client.
	c = newTestClient(t, s, tc.p8, "apns")
	if r := c.Push(context.Background(), "a/b", n, testAPNsID); r.Class != vendors.TokenInvalid {
		t.Errorf("Push(a/b) = %+v, want token-invalid", r)
	}
	bad := &messages.Notification{Body: "b", Custom: []byte("[]")}
	if r := c.Push(context.Background(), "a1b2", bad, testAPNsID); r.Class != vendors.PayloadError {
		t.Errorf("Push(bad custom) = %+v, want payload-error", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := c.Push(ctx, "a1b2", n, testAPNsID); r.Class != vendors.Retryable {
		t.Errorf("Push(canceled) = %+v, want retryable", r)
	}
	c.Close()
	if r := c.Push(context.Background(), "a1b2", n, testAPNsID); !errors.Is(r.Err, ErrClosed) {
		t.Errorf("Push(closed) = %+v, want ErrClosed", r)
	}
	if got := len(s.requests()); got != 0 {
		t.Errorf("server saw %d requests, want none", got)
	}
}

func TestNewValidates(t *testing.T) {
	tc := makeTestCreds(t)
	parsed, _ := ParseCredentials("apns", tc.p8)
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no credentials", Config{}, "credentials"},
		{"environment", Config{Credentials: parsed, Environment: "staging"}, "environment"},
		{"http endpoint", Config{Credentials: parsed, Endpoint: "http://127.0.0.1:1"},
			"endpoint"},
		{"relative endpoint", Config{Credentials: parsed, Endpoint: "/x"}, "endpoint"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		var fe *vendors.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("New(%s) = %v, want FieldError %q", tt.name, err, tt.field)
		}
	}

	hosts := map[string]string{
		"":            "https://api.push.apple.com",
		"production":  "https://api.push.apple.com",
		"development": "https://api.sandbox.push.apple.com",
	}
	for env, want := range hosts {
		c, err := New(Config{Credentials: parsed, Environment: env})
		if err != nil {
			t.Fatal(err)
		}
		if c.host != want {
			t.Errorf("New(environment %q).host = %q, want %q", env, c.host, want)
		}
		c.Close()
	}
}
