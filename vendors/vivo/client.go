package vivo

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Connection settings of VENDORS.md §1.3.
const (
	// DefaultBaseURL is vivo's send and auth host.
	DefaultBaseURL = "https://api-push.vivo.com.cn"
	// DefaultRequestTimeout bounds one request with its response.
	DefaultRequestTimeout = 10 * time.Second

	dialTimeout      = 5 * time.Second
	handshakeTimeout = 5 * time.Second
	readIdleTimeout  = 15 * time.Second
	pingTimeout      = 5 * time.Second
	// maxConns is the connections per host; OEM vendors are treated as
	// allowing 16 concurrent requests per notifier (VENDORS.md §2).
	maxConns      = 16
	maxAnswerBody = 64 << 10
	maxDrain      = 256 << 10

	authPath = "/message/auth"
	sendPath = "/message/send"
)

// ErrClosed: Push was called after Close.
var ErrClosed = fmt.Errorf("vivo: %w", vendors.ErrClosed)

// shanghai is vivo's day boundary for daily caps (no daylight saving).
var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// Config builds a Client.
type Config struct {
	Credentials *Credentials
	// Endpoint and AuthEndpoint replace DefaultBaseURL for sends and for
	// auth; the vivo paths are appended.
	Endpoint, AuthEndpoint string
	// RootCAs verifies the server; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	Logger  *slog.Logger
	// RequestTimeout bounds one request; 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Now is the clock for signatures and token renewal; nil is time.Now.
	Now func() time.Time
}

// Client pushes through vivo for one notifier. It is safe for concurrent
// use.
type Client struct {
	creds   *Credentials
	sendURL string
	authURL string
	http    *http.Client
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
	tokens  *tokenCache
	closed  atomic.Bool
}

// New checks cfg and builds a client. It does not contact vivo: the first
// push fetches the auth token.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, &vendors.FieldError{Field: "credentials", Reason: "required"}
	}
	send, err := oem.BaseURL(cfg.Endpoint, DefaultBaseURL, "endpoint")
	if err != nil {
		return nil, err
	}
	auth, err := oem.BaseURL(cfg.AuthEndpoint, DefaultBaseURL, "auth_endpoint")
	if err != nil {
		return nil, err
	}

	c := &Client{
		creds:   cfg.Credentials,
		sendURL: send + sendPath,
		authURL: auth + authPath,
		timeout: cfg.RequestTimeout,
		now:     cfg.Now,
		log:     cfg.Logger,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultRequestTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	roots := cfg.RootCAs
	if roots == nil {
		roots = vendors.TrustPool()
	}
	c.http = &http.Client{Transport: newTransport(roots)}
	c.tokens = &tokenCache{fetch: c.fetchToken, now: c.now}
	return c, nil
}

// newTransport speaks HTTP/2 when the server offers it, else HTTP/1.1,
// with the timeouts of VENDORS.md §1.3.
func newTransport(roots *x509.CertPool) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}
	return &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: handshakeTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     90 * time.Second,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: readIdleTimeout,
			PingTimeout:     pingTimeout,
		},
	}
}

// Push sends n to one device and classifies vivo's answer. requestID
// becomes the requestId, so a retry keeps it. A refused authToken is
// replaced and the push resent once (VENDORS.md §1.2).
func (c *Client) Push(ctx context.Context, deviceToken string, n *messages.Notification,
	requestID string) vendors.Result {

	if c.closed.Load() {
		return vendors.Result{Class: vendors.Retryable, Err: ErrClosed}
	}
	body, err := BuildRequest(n, c.creds, deviceToken, requestID)
	switch {
	case errors.Is(err, ErrBadDeviceToken):
		return vendors.Result{Class: vendors.TokenInvalid, Err: err}
	case err != nil:
		return vendors.Result{Class: vendors.PayloadError, Err: err}
	}

	// tok is "" when the token fetch itself failed: nothing to resend.
	res, tok := c.sendWithToken(ctx, body)
	if tok != "" && res.HTTPStatus == http.StatusOK &&
		res.Reason == strconv.Itoa(ResultAuthRefused) {
		c.tokens.invalidate(tok)
		res, _ = c.sendWithToken(ctx, body)
	}
	if res.Class != vendors.Delivered {
		c.log.Debug("vivo push not delivered", "token", vendors.MaskToken(deviceToken),
			"class", res.Class.String(), "status", res.HTTPStatus, "reason", res.Reason,
			"err", res.Err)
	}
	return res
}

// sendWithToken gets the auth token and makes one send attempt.
func (c *Client) sendWithToken(ctx context.Context, body []byte) (vendors.Result, string) {
	tok, err := c.tokens.get(ctx)
	if err != nil {
		var ae *authError
		if errors.As(err, &ae) {
			return vendors.Result{Class: ae.class, HTTPStatus: ae.status,
				Reason: ae.reason, Err: err}, ""
		}
		return vendors.Result{Class: vendors.Retryable, Err: err}, ""
	}
	return c.send(ctx, tok, body), tok
}

// send makes one request to /message/send and classifies the answer.
func (c *Client) send(ctx context.Context, tok string, body []byte) vendors.Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	status, raw, hdr, err := c.post(ctx, c.sendURL, map[string]string{"authToken": tok}, body)
	if err != nil {
		return vendors.Result{Class: vendors.Retryable, Err: fmt.Errorf("vivo send: %w", err)}
	}

	var ans struct {
		Result *int            `json:"result"`
		Desc   string          `json:"desc"`
		TaskID json.RawMessage `json:"taskId"`
	}
	result := -1 // an unreadable 200 is an unknown answer: payload error
	if json.Unmarshal(bytes.TrimSpace(raw), &ans) == nil && ans.Result != nil {
		result = *ans.Result
	}

	r := vendors.Result{Class: Classify(status, result, ans.Desc), HTTPStatus: status}
	if status == http.StatusOK && result != ResultOK {
		r.Reason = strconv.Itoa(result)
	}
	if r.Class == vendors.Delivered {
		r.VendorID = strings.Trim(string(ans.TaskID), `"`)
	}
	if d, ok := vendors.ParseRetryAfter(hdr.Get("Retry-After"), c.now()); ok {
		r.RetryAfter = d
	}
	if status == http.StatusOK && result == ResultDailyCap {
		r.RetryAfter = untilShanghaiMidnight(c.now())
	}
	return r
}

// untilShanghaiMidnight is how long a daily cap lasts: vivo's day ends at
// 00:00 Asia/Shanghai.
func untilShanghaiMidnight(now time.Time) time.Duration {
	t := now.In(shanghai)
	next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, shanghai)
	return next.Sub(now)
}

// post sends a JSON body and reads at most maxAnswerBody of the answer.
// The error of a failed request never names the URL's secrets (there are
// none in vivo URLs) and is the transport's cause.
func (c *Client) post(ctx context.Context, u string, headers map[string]string,
	body []byte) (int, []byte, http.Header, error) {

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	for k, v := range headers {
		req.Header.Set(k, v)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, raw, resp.Header, nil
}

// Close stops the client: later pushes fail as retryable and idle
// connections close. Pushes in flight finish.
func (c *Client) Close() {
	if c.closed.Swap(true) {
		return
	}
	c.http.CloseIdleConnections()
	time.AfterFunc(c.timeout+time.Second, c.http.CloseIdleConnections)
}
