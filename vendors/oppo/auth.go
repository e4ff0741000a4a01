package oppo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/herald-im/herald/vendors"
)

// authToken returns the cached auth_token, fetching a new one when there
// is none or it is TokenRenewAfter old. Concurrent callers share one
// fetch. A failure comes back as the Result the push ends with.
func (c *Client) authToken(ctx context.Context) (string, uint64, *vendors.Result) {
	if tok, gen := c.cached(); tok != "" {
		return tok, gen, nil
	}

	// One caller fetches; the rest wait here and then find its token.
	select {
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", 0, &vendors.Result{Class: vendors.Retryable,
			Err: errorf("wait for auth token: %w", ctx.Err())}
	}
	defer func() { <-c.fetching }()
	if tok, gen := c.cached(); tok != "" {
		return tok, gen, nil
	}

	tok, fail := c.fetchToken(ctx)
	if fail != nil {
		return "", 0, fail
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token, c.fetched = tok, c.now()
	c.gen++
	return tok, c.gen, nil
}

// cached is the current token and its generation if it is young enough,
// else "".
func (c *Client) cached() (string, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == "" || c.now().Sub(c.fetched) >= TokenRenewAfter {
		return "", 0
	}
	return c.token, c.gen
}

// drop forgets the cached token if it is still generation gen: the
// vendor refused it, and no concurrent push has replaced it yet.
func (c *Client) drop(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.token = ""
	}
}

// fetchToken asks the auth endpoint for a token with a fresh signature.
// Token endpoint 4xx or a refusing code → credential-error; 5xx, network
// or timeout → retryable (VENDORS.md §1.2).
func (c *Client) fetchToken(ctx context.Context) (string, *vendors.Result) {
	ts := c.now().UnixMilli()
	form := url.Values{
		"app_key":   {c.creds.AppKey},
		"timestamp": {strconv.FormatInt(ts, 10)},
		"sign":      {Sign(c.creds.AppKey, ts, c.creds.MasterSecret)},
	}
	status, _, body, err := c.post(ctx, c.authURL, form, "")
	if err != nil {
		return "", &vendors.Result{Class: vendors.Retryable,
			Err: fmt.Errorf("%w: %w", ErrAuth, err)}
	}

	var a answer
	var data struct {
		AuthToken string `json:"auth_token"`
	}
	parsed := json.Unmarshal(body, &a) == nil && a.Code != nil
	if parsed {
		_ = json.Unmarshal(a.Data, &data)
	}
	switch {
	case status >= 500:
		return "", &vendors.Result{Class: vendors.Retryable, HTTPStatus: status,
			Err: fmt.Errorf("%w: status %d", ErrAuth, status)}
	case status != http.StatusOK || !parsed:
		return "", &vendors.Result{Class: vendors.CredentialError, HTTPStatus: status,
			Err: fmt.Errorf("%w: status %d", ErrAuth, status)}
	case *a.Code != 0 || data.AuthToken == "":
		r := &vendors.Result{Class: Classify(status, *a.Code, true), HTTPStatus: status,
			Reason: strconv.Itoa(*a.Code), Err: fmt.Errorf("%w: code %d", ErrAuth, *a.Code)}
		if r.Class == vendors.Delivered || r.Class == vendors.PayloadError ||
			r.Class == vendors.TokenInvalid {
			r.Class = vendors.CredentialError // no token is a refusal of the app
		}
		return "", r
	}
	c.log.Debug("oppo auth token fetched")
	return data.AuthToken, nil
}
