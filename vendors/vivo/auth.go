package vivo

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/herald-im/herald/vendors"
)

// Auth token timing (VENDORS.md §1.2): vivo's authToken lives 24 h, but
// Herald renews it hourly. vivo allows 10 auth calls per second per app,
// so refreshes are single-flight and a failed fetch is not repeated
// within authRetryGap.
const (
	TokenRenewAfter = time.Hour
	authRetryGap    = time.Second
)

// Sign is the auth signature: lowercase hex MD5 of appId, appKey, the
// timestamp in ms and appSecret, concatenated.
func Sign(appID, appKey string, timestampMS int64, appSecret string) string {
	sum := md5.Sum([]byte(appID + appKey + strconv.FormatInt(timestampMS, 10) + appSecret))
	return hex.EncodeToString(sum[:])
}

// authError is a failed token fetch with the class the push gets.
type authError struct {
	class  vendors.Class
	status int
	reason string
	err    error
}

func (e *authError) Error() string {
	return fmt.Sprintf("vivo auth: %v", e.err)
}

func (e *authError) Unwrap() error { return e.err }

// tokenCache holds the notifier's one authToken and fetches a new one at
// most once at a time.
type tokenCache struct {
	fetch func(ctx context.Context) (string, error)
	now   func() time.Time

	mu       sync.Mutex
	token    string
	fetched  time.Time
	inflight *fetchCall
	failErr  error
	failAt   time.Time
}

// fetchCall is one token fetch that several pushes may wait on.
type fetchCall struct {
	done  chan struct{}
	token string
	err   error
}

// get returns the cached token, fetching one when there is none or it is
// due for renewal.
func (tc *tokenCache) get(ctx context.Context) (string, error) {
	tc.mu.Lock()
	now := tc.now()
	if tc.token != "" && now.Sub(tc.fetched) < TokenRenewAfter {
		tok := tc.token
		tc.mu.Unlock()
		return tok, nil
	}
	if tc.failErr != nil && now.Sub(tc.failAt) < authRetryGap {
		err := tc.failErr
		tc.mu.Unlock()
		return "", err
	}

	call := tc.inflight
	if call == nil {
		call = &fetchCall{done: make(chan struct{})}
		tc.inflight = call
		go tc.run(call)
	}
	tc.mu.Unlock()

	select {
	case <-call.done:
		return call.token, call.err
	case <-ctx.Done():
		return "", &authError{class: vendors.Retryable, err: ctx.Err()}
	}
}

// run fetches a token for call, detached from any one push's context so
// a push that gives up does not fail the others waiting.
func (tc *tokenCache) run(call *fetchCall) {
	tok, err := tc.fetch(context.Background())

	tc.mu.Lock()
	defer tc.mu.Unlock()
	if err != nil {
		tc.failErr, tc.failAt = err, tc.now()
	} else {
		tc.token, tc.fetched, tc.failErr = tok, tc.now(), nil
	}
	tc.inflight = nil
	call.token, call.err = tok, err
	close(call.done)
}

// invalidate drops tok after vivo refused it, unless a newer token has
// already replaced it.
func (tc *tokenCache) invalidate(tok string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.token == tok {
		tc.token = ""
	}
}

// authRequest is the JSON body of POST /message/auth.
type authRequest struct {
	AppID     string `json:"appId"`
	AppKey    string `json:"appKey"`
	Timestamp int64  `json:"timestamp"`
	Sign      string `json:"sign"`
}

// fetchToken asks vivo for a new authToken. 4xx and refusals are
// credential errors; 5xx, network errors and timeouts are retryable.
func (c *Client) fetchToken(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	ts := c.now().UnixMilli()
	body, _ := json.Marshal(authRequest{
		AppID: c.creds.AppID, AppKey: c.creds.AppKey, Timestamp: ts,
		Sign: Sign(c.creds.AppID, c.creds.AppKey, ts, c.creds.AppSecret),
	})
	status, raw, _, err := c.post(ctx, c.authURL, nil, body)
	if err != nil {
		return "", &authError{class: vendors.Retryable, err: err}
	}

	switch {
	case status >= 500:
		return "", &authError{class: vendors.Retryable, status: status,
			err: fmt.Errorf("status %d", status)}
	case status == http.StatusTooManyRequests:
		return "", &authError{class: vendors.Throttled, status: status,
			err: errors.New("status 429")}
	case status != http.StatusOK:
		return "", &authError{class: vendors.CredentialError, status: status,
			err: fmt.Errorf("status %d", status)}
	}

	var ans struct {
		Result    int    `json:"result"`
		Desc      string `json:"desc"`
		AuthToken string `json:"authToken"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(raw), &ans); err != nil {
		return "", &authError{class: vendors.Retryable, status: status,
			err: fmt.Errorf("decode answer: %w", err)}
	}
	if ans.Result != ResultOK || ans.AuthToken == "" {
		return "", &authError{class: vendors.CredentialError, status: status,
			reason: strconv.Itoa(ans.Result),
			err:    fmt.Errorf("refused: result %d %q", ans.Result, ans.Desc)}
	}
	c.log.Debug("vivo auth token fetched", "app_id", c.creds.AppID)
	return ans.AuthToken, nil
}
