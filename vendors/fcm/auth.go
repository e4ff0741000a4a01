package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/herald-im/herald/vendors"
)

// Scope is the OAuth2 scope FCM sends need.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// grantType is the JWT bearer grant of RFC 7523.
const grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Token lifetimes (VENDORS.md §1.2).
const (
	// assertionLifetime is how long a signed JWT assertion is valid;
	// Google refuses more than an hour.
	assertionLifetime = time.Hour
	// renewShare is the part of an access token's lifetime after which
	// Herald fetches the next one.
	renewShare = 0.8
	// failedFetchPause keeps a failing token endpoint from being asked
	// on every push while the old token is still valid.
	failedFetchPause = time.Second
)

// Errors of a failed token fetch; a Result's Err wraps one of them.
var (
	// ErrTokenRefused: the token endpoint refused the service account
	// (a 4xx such as invalid_grant): a credential error.
	ErrTokenRefused = errors.New("fcm: token endpoint refused the service account")
	// ErrTokenUnavailable: the token endpoint failed or did not answer
	// (5xx, network, timeout, a malformed answer): retryable.
	ErrTokenUnavailable = errors.New("fcm: token endpoint unavailable")
)

// tokenError is a failed fetch with the endpoint's status and OAuth error.
type tokenError struct {
	kind   error // ErrTokenRefused or ErrTokenUnavailable
	status int
	code   string // OAuth "error", e.g. invalid_grant
	cause  error
}

func (e *tokenError) Error() string {
	s := e.kind.Error()
	if e.status != 0 {
		s += fmt.Sprintf(" (%d %s)", e.status, e.code)
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *tokenError) Unwrap() []error { return []error{e.kind, e.cause} }

// result turns a failed fetch into the push's result.
func (e *tokenError) result() vendors.Result {
	class := vendors.Retryable
	if errors.Is(e.kind, ErrTokenRefused) {
		class = vendors.CredentialError
	}
	return vendors.Result{Class: class, Reason: e.code, Err: e}
}

// tokenSource keeps one notifier's access token: fetched on first use,
// renewed after 80 % of its lifetime, one fetch at a time.
type tokenSource struct {
	creds   *Credentials
	url     string
	http    *http.Client
	now     func() time.Time
	timeout time.Duration

	mu       sync.Mutex
	token    string        // "" when none is held
	renewAt  time.Time     // fetch the next one from here on
	expires  time.Time     // the token is refused from here on
	pauseTil time.Time     // no fetch before this after a failure
	gen      uint64        // counts fetched tokens
	fetching chan struct{} // closed when the running fetch ends; nil if none
	lastErr  *tokenError   // the last fetch's failure, nil after a success
}

// get returns a usable access token and its generation, fetching one if
// none is held or the held one is due for renewal. While a renewal fails,
// the held token is used until it expires.
func (ts *tokenSource) get(ctx context.Context) (string, uint64, *tokenError) {
	for {
		ts.mu.Lock()
		now := ts.now()
		valid := ts.token != "" && now.Before(ts.expires)
		due := !valid || !now.Before(ts.renewAt)
		// While a renewal runs or is paused, the held token still serves.
		if valid && (!due || now.Before(ts.pauseTil) || ts.fetching != nil) {
			tok, gen := ts.token, ts.gen
			ts.mu.Unlock()
			return tok, gen, nil
		}
		if !valid && now.Before(ts.pauseTil) && ts.lastErr != nil {
			err := ts.lastErr
			ts.mu.Unlock()
			return "", 0, err
		}

		if wait := ts.fetching; wait != nil {
			ts.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return "", 0, &tokenError{kind: ErrTokenUnavailable, cause: ctx.Err()}
			}
		}
		done := make(chan struct{})
		ts.fetching = done
		ts.mu.Unlock()

		tok, life, err := ts.fetch(ctx)
		// A push that gave up says nothing about the endpoint: others
		// may try again at once.
		ts.store(tok, life, err, err != nil && ctx.Err() == nil)
		close(done)
		if err != nil && ctx.Err() != nil {
			return "", 0, err
		}
	}
}

// store keeps a fetched token, or the failure (pausing fetches when the
// endpoint itself failed), and ends the fetch.
func (ts *tokenSource) store(tok string, life time.Duration, err *tokenError, pause bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.fetching = nil
	now := ts.now()
	if err != nil {
		if pause {
			ts.lastErr = err
			ts.pauseTil = now.Add(failedFetchPause)
		}
		return
	}
	ts.token, ts.gen, ts.lastErr = tok, ts.gen+1, nil
	ts.expires = now.Add(life)
	ts.renewAt = now.Add(time.Duration(float64(life) * renewShare))
	ts.pauseTil = time.Time{}
}

// invalidate drops the token of generation gen after FCM refused it, so
// the next get fetches a new one. A token fetched since is kept: many
// pushes refused at once renew once.
func (ts *tokenSource) invalidate(gen uint64) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.gen == gen {
		ts.token = ""
		ts.pauseTil = time.Time{}
	}
}

// assertion signs the JWT bearer grant: RS256 with the service account's
// key, kid = private_key_id, aud = the URL it is posted to.
func (ts *tokenSource) assertion(now time.Time) (string, error) {
	claims := jwt.MapClaims{
		"iss":   ts.creds.ClientEmail,
		"scope": Scope,
		"aud":   ts.url,
		"iat":   now.Unix(),
		"exp":   now.Add(assertionLifetime).Unix(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if ts.creds.KeyID != "" {
		t.Header["kid"] = ts.creds.KeyID
	}
	signed, err := t.SignedString(ts.creds.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	return signed, nil
}

// fetch asks the token endpoint for a new access token and its lifetime.
func (ts *tokenSource) fetch(ctx context.Context) (string, time.Duration, *tokenError) {
	unavailable := func(status int, cause error) *tokenError {
		return &tokenError{kind: ErrTokenUnavailable, status: status, cause: cause}
	}
	jwtText, err := ts.assertion(ts.now())
	if err != nil {
		return "", 0, &tokenError{kind: ErrTokenRefused, cause: err}
	}
	form := url.Values{"grant_type": {grantType}, "assertion": {jwtText}}

	ctx, cancel := context.WithTimeout(ctx, ts.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url,
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, unavailable(0, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.http.Do(req)
	if err != nil {
		return "", 0, unavailable(0, stripURL(err))
	}
	body := readAnswer(resp)

	var ans struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.Number     `json:"expires_in"`
		Error       string          `json:"error"`
		Description json.RawMessage `json:"error_description"`
	}
	_ = json.Unmarshal(body, &ans) // odd bodies leave the fields empty

	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return "", 0, &tokenError{kind: ErrTokenRefused, status: resp.StatusCode,
			code: ans.Error}
	case resp.StatusCode != http.StatusOK:
		return "", 0, &tokenError{kind: ErrTokenUnavailable, status: resp.StatusCode,
			code: ans.Error}
	}
	secs, err := ans.ExpiresIn.Int64()
	if ans.AccessToken == "" || err != nil || secs <= 0 {
		return "", 0, unavailable(resp.StatusCode,
			errors.New("answer lacks access_token or expires_in"))
	}
	return ans.AccessToken, time.Duration(secs) * time.Second, nil
}
