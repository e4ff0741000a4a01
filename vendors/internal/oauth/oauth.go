// Package oauth keeps the OAuth2 client_credentials access token of one
// vendor notifier (Huawei, Honor): fetched on first use, shared by every
// push, renewed at 80 % of its lifetime, refreshed once by one goroutine
// however many pushes ask at the same time (VENDORS.md §1.2).
//
// Callers build one Source per notifier, call Token before each send and
// Invalidate when the vendor refused the token they sent. A refusal by the
// token endpoint (4xx) is ErrRefused: the credentials are wrong. Anything
// else (5xx, network, timeout) is ErrUnavailable: try again later.
package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of VENDORS.md §1.2 and §1.3.
const (
	// DefaultTimeout bounds one token request with its answer.
	DefaultTimeout = 10 * time.Second
	// RenewFraction of expires_in after which a token is renewed.
	RenewFraction = 0.8
	// maxAnswer is how much of a token answer is read.
	maxAnswer = 64 << 10
)

var (
	// ErrRefused: the token endpoint refused the credentials (4xx). The
	// notifier's credentials or config are wrong; retrying will not help.
	ErrRefused = errors.New("token request refused")
	// ErrUnavailable: no token this time (5xx, network error, timeout,
	// an answer without a token); a later attempt may succeed.
	ErrUnavailable = errors.New("token endpoint unavailable")
)

// Config builds a Source.
type Config struct {
	// TokenURL is the full URL of the token endpoint. Required.
	TokenURL string
	// ClientID and ClientSecret are the form fields of the grant.
	// Required. The secret never appears in an error or a log.
	ClientID, ClientSecret string
	// HTTPClient sends the token requests. Required.
	HTTPClient *http.Client
	// Timeout bounds one token request; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for token lifetimes; nil means time.Now.
	Now func() time.Time
}

// Source hands out the notifier's current access token. It is safe for
// concurrent use.
type Source struct {
	cfg Config

	// mu guards the fields below. flight is the fetch in progress, nil
	// when none; callers that find one wait for it instead of starting
	// their own (single flight).
	mu      sync.Mutex
	token   string
	renewAt time.Time
	expires time.Time
	fetches int
	flight  *flight
}

// flight is one token request; done closes when token or err is set.
type flight struct {
	done  chan struct{}
	token string
	err   error
}

// New checks cfg and builds a Source; it does not contact the endpoint.
func New(cfg Config) (*Source, error) {
	switch {
	case cfg.TokenURL == "":
		return nil, errors.New("oauth: token url: required")
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("oauth: client id and secret: required")
	case cfg.HTTPClient == nil:
		return nil, errors.New("oauth: http client: required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Source{cfg: cfg}, nil
}

// Token returns a token that is not due for renewal, fetching one when
// needed. ctx bounds only the wait: a fetch that started goes on for the
// callers still waiting.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.token != "" && s.cfg.Now().Before(s.renewAt) {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	f := s.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		s.fetches++
		go s.fetch(f)
	}
	s.mu.Unlock()

	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("wait for access token: %w", ctx.Err())
	}
}

// Invalidate forgets tok after the vendor refused it as unknown or
// expired, so the next Token fetches a new one. A tok that is no longer
// current (another push already renewed it) changes nothing, which keeps
// concurrent refusals to one renewal.
func (s *Source) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok != "" && tok == s.token {
		s.token = ""
	}
}

// Fetches counts the token requests started so far, for tests and
// metrics.
func (s *Source) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// fetch runs one token request and publishes its result to the waiters.
// It is bounded by the token timeout, not by any caller's context.
func (s *Source) fetch(f *flight) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	sentAt := s.cfg.Now()
	tok, life, err := s.request(ctx)

	s.mu.Lock()
	if err == nil {
		// The lifetime counts from when the request left, so a slow
		// answer renews early rather than late.
		s.token = tok
		s.expires = sentAt.Add(life)
		s.renewAt = sentAt.Add(time.Duration(float64(life) * RenewFraction))
	}
	s.flight = nil
	s.mu.Unlock()

	f.token, f.err = tok, err
	close(f.done)
}

// answer is a token endpoint's reply; expires_in may come as a number or
// as a string of digits.
type answer struct {
	AccessToken string          `json:"access_token"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	Error       json.RawMessage `json:"error"`
}

// request posts the client_credentials grant and reads the answer.
func (s *Source) request(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.cfg.ClientID},
		"client_secret": {s.cfg.ClientSecret},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.TokenURL,
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("oauth: build token request: %w", ErrRefused)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		// The URL error carries no secret (the form is in the body),
		// but keep only its cause to stay short.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", 0, fmt.Errorf("oauth: token request: %v: %w", err, ErrUnavailable)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()

	return parseAnswer(resp.StatusCode, body)
}

// parseAnswer classifies a token endpoint's answer: 4xx refuses the
// credentials, any other failure is transient.
func parseAnswer(status int, body []byte) (string, time.Duration, error) {
	var a answer
	jsonErr := json.Unmarshal(body, &a)
	switch {
	case status >= 400 && status < 500:
		return "", 0, fmt.Errorf("oauth: token endpoint answered %d %s: %w",
			status, errorName(a.Error), ErrRefused)
	case status != http.StatusOK:
		return "", 0, fmt.Errorf("oauth: token endpoint answered %d: %w", status, ErrUnavailable)
	case jsonErr != nil || a.AccessToken == "":
		return "", 0, fmt.Errorf("oauth: token answer without access_token: %w", ErrUnavailable)
	}

	secs, err := strconv.ParseInt(string(bytes.Trim(a.ExpiresIn, `"`)), 10, 64)
	if err != nil || secs <= 0 {
		return "", 0, fmt.Errorf("oauth: token answer expires_in %q: %w",
			a.ExpiresIn, ErrUnavailable)
	}
	return a.AccessToken, time.Duration(secs) * time.Second, nil
}

// errorName is the endpoint's error code for messages, cut short; it
// never holds a secret.
func errorName(raw json.RawMessage) string {
	s := string(bytes.Trim(raw, `"`))
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
