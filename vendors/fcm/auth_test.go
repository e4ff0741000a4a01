package fcm

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/herald-im/herald/vendors"
)

// tokenServer is a scripted OAuth token endpoint over TLS: it checks each
// assertion and answers with the status set in status.
type tokenServer struct {
	srv     *httptest.Server
	creds   *Credentials
	status  atomic.Int64
	fetches atomic.Int64
	badJWT  atomic.Value // first assertion problem seen, a string
}

func startTokenServer(t *testing.T, creds *Credentials) *tokenServer {
	ts := &tokenServer{creds: creds}
	ts.status.Store(200)
	ts.srv = httptest.NewTLSServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	n := ts.fetches.Add(1)
	if err := ts.checkAssertion(r); err != nil {
		ts.badJWT.CompareAndSwap(nil, err.Error())
	}
	status := int(ts.status.Load())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch {
	case status == 200:
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":100}`, n)
	case status < 500:
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
	default:
		fmt.Fprint(w, `{"error":"internal_failure"}`)
	}
}

// checkAssertion verifies the grant as Google does.
func (ts *tokenServer) checkAssertion(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	if r.PostForm.Get("grant_type") != grantType {
		return errors.New("grant_type")
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims,
		func(*jwt.Token) (any, error) { return &ts.creds.PrivateKey.PublicKey, nil },
		jwt.WithoutClaimsValidation())
	if err != nil {
		return err
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	switch {
	case tok.Method.Alg() != "RS256" || tok.Header["kid"] != ts.creds.KeyID ||
		tok.Header["typ"] != "JWT":
		return fmt.Errorf("header %v", tok.Header)
	case claims["iss"] != ts.creds.ClientEmail || claims["scope"] != Scope:
		return fmt.Errorf("claims %v", claims)
	case claims["aud"] != ts.srv.URL+"/token":
		return fmt.Errorf("aud %v", claims["aud"])
	case exp-iat != 3600:
		return fmt.Errorf("lifetime %v", exp-iat)
	}
	return nil
}

func newTestSource(t *testing.T, clk *clock) (*tokenSource, *tokenServer) {
	t.Helper()
	creds, err := ParseCredentials(map[string]string{"service_account": testAccount(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	srv := startTokenServer(t, creds)
	c, err := New(Config{Credentials: creds, Endpoint: srv.srv.URL,
		AuthEndpoint: srv.srv.URL, RootCAs: srvPool(srv.srv), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.tokens, srv
}

func srvPool(s *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return pool
}

// TestTokenSourceLifetime: 80 % renewal, a failed renewal keeps the held
// token until it expires, a failing endpoint is asked at most once a
// second.
func TestTokenSourceLifetime(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	ts, srv := newTestSource(t, clk)
	ctx := context.Background()
	get := func(wantTok string, wantFetches int64) {
		t.Helper()
		tok, _, err := ts.get(ctx)
		if err != nil || tok != wantTok || srv.fetches.Load() != wantFetches {
			t.Fatalf("get = %q, %v after %d fetches; want %q after %d", tok, err,
				srv.fetches.Load(), wantTok, wantFetches)
		}
	}

	get("at-1", 1)
	clk.Add(79 * time.Second)
	get("at-1", 1)
	clk.Add(time.Second) // 80 % of expires_in 100
	get("at-2", 2)

	// The renewal at 80 % fails: the held token serves until it expires.
	srv.status.Store(503)
	clk.Add(80 * time.Second)
	get("at-2", 3)
	get("at-2", 3) // paused for a second after the failure
	clk.Add(time.Second)
	get("at-2", 4)
	clk.Add(19 * time.Second) // at-2 has expired
	_, _, err := ts.get(ctx)
	if !errors.Is(err, ErrTokenUnavailable) || err.result().Class != vendors.Retryable {
		t.Fatalf("expired and endpoint down: %v, want retryable", err)
	}

	srv.status.Store(400)
	clk.Add(time.Second)
	_, _, err = ts.get(ctx)
	if !errors.Is(err, ErrTokenRefused) || err.result().Class != vendors.CredentialError ||
		err.result().Reason != "invalid_grant" {
		t.Fatalf("endpoint 400: %v, want credential-error invalid_grant", err)
	}

	if bad, _ := srv.badJWT.Load().(string); bad != "" {
		t.Errorf("token endpoint saw a bad assertion: %s", bad)
	}
}

func TestTokenSourceSingleFlight(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	ts, srv := newTestSource(t, clk)

	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, _, err := ts.get(context.Background()); err != nil || tok != "at-1" {
				t.Errorf("get = %q, %v", tok, err)
			}
		}()
	}
	wg.Wait()
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}

	// A refusal of generation 1 drops it once; a stale refusal does not
	// drop the newer token.
	_, gen, _ := ts.get(context.Background())
	ts.invalidate(gen)
	ts.invalidate(gen)
	if tok, _, _ := ts.get(context.Background()); tok != "at-2" {
		t.Errorf("after invalidate: %q, want at-2", tok)
	}
	ts.invalidate(gen)
	if tok, _, _ := ts.get(context.Background()); tok != "at-2" || srv.fetches.Load() != 2 {
		t.Errorf("stale invalidate refetched: %q after %d", tok, srv.fetches.Load())
	}
}
