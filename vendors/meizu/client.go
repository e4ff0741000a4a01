package meizu

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
	"sync/atomic"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Connection settings of VENDORS.md §1.3.
const (
	// DefaultBaseURL is Meizu's host; Meizu publishes it without TLS.
	DefaultBaseURL = "http://server-api-push.meizu.com"
	// DefaultRequestTimeout bounds one request with its response.
	DefaultRequestTimeout = 10 * time.Second
	// PushPath is the unicast-by-pushId path under the base URL.
	PushPath = "/garcia/api/server/push/varnished/pushByPushId"

	dialTimeout      = 5 * time.Second
	handshakeTimeout = 5 * time.Second
	readIdleTimeout  = 15 * time.Second
	pingTimeout      = 5 * time.Second
	maxConns         = 16 // treat as 16 concurrent requests (VENDORS.md §2)
	maxAnswerBody    = 64 << 10
	maxDrain         = 256 << 10
)

// ErrClosed: Push was called after Close.
var ErrClosed = fmt.Errorf("meizu: %w", vendors.ErrClosed)

// Config builds a Client.
type Config struct {
	Credentials *Credentials
	// Endpoint replaces DefaultBaseURL; its scheme (http or https) is
	// kept and PushPath appended.
	Endpoint string
	// RootCAs verifies an https server; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	Logger  *slog.Logger
	// RequestTimeout bounds one request; 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Now is the clock for Retry-After dates; nil is time.Now.
	Now func() time.Time
}

// Client pushes through Meizu for one notifier. It is safe for concurrent
// use.
type Client struct {
	creds   *Credentials
	pushURL string
	http    *http.Client
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
	closed  atomic.Bool
}

// New checks cfg and builds a client. It does not contact Meizu.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, &vendors.FieldError{Field: "credentials", Reason: "required"}
	}
	base, err := oem.BaseURL(cfg.Endpoint, DefaultBaseURL, "endpoint")
	if err != nil {
		return nil, err
	}

	c := &Client{
		creds:   cfg.Credentials,
		pushURL: base + PushPath,
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
	return c, nil
}

// newTransport speaks HTTP/2 when an https server offers it, else
// HTTP/1.1, with the timeouts of VENDORS.md §1.3.
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

// answer is Meizu's JSON reply.
type answer struct {
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Value   map[string][]string `json:"value"`
	MsgID   string              `json:"msgId"`
}

// Push sends n to one device and classifies Meizu's answer. Meizu has no
// request id of its own; requestID is ignored.
func (c *Client) Push(ctx context.Context, deviceToken string, n *messages.Notification,
	_ string) vendors.Result {

	if c.closed.Load() {
		return vendors.Result{Class: vendors.Retryable, Err: ErrClosed}
	}
	form, err := BuildForm(n, c.creds, deviceToken)
	switch {
	case errors.Is(err, ErrBadDeviceToken):
		return vendors.Result{Class: vendors.TokenInvalid, Err: err}
	case err != nil:
		return vendors.Result{Class: vendors.PayloadError, Err: err}
	}

	res := c.send(ctx, deviceToken, []byte(form.Encode()))
	if res.Class != vendors.Delivered {
		c.log.Debug("meizu push not delivered", "token", vendors.MaskToken(deviceToken),
			"class", res.Class.String(), "status", res.HTTPStatus, "reason", res.Reason,
			"err", res.Err)
	}
	return res
}

// send makes one request and classifies the answer for pushID.
func (c *Client) send(ctx context.Context, pushID string, body []byte) vendors.Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	status, raw, hdr, err := c.post(ctx, body)
	if err != nil {
		return vendors.Result{Class: vendors.Retryable, Err: fmt.Errorf("meizu send: %w", err)}
	}

	var ans answer
	if json.Unmarshal(bytes.TrimSpace(raw), &ans) != nil {
		ans = answer{} // an unreadable 200 is an unknown code: payload error
	}
	r := vendors.Result{Class: Classify(status, ans.Code), HTTPStatus: status}
	if status == http.StatusOK && ans.Code != CodeOK {
		r.Reason = ans.Code
	}
	if r.Class == vendors.Delivered {
		r.Class, r.Reason = ClassifyPushID(ans.Value, pushID)
	}
	if r.Class == vendors.Delivered {
		r.VendorID = ans.MsgID
	}
	if d, ok := vendors.ParseRetryAfter(hdr.Get("Retry-After"), c.now()); ok {
		r.RetryAfter = d
	}
	return r
}

// post sends the form and reads at most maxAnswerBody of the answer.
func (c *Client) post(ctx context.Context, body []byte) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.pushURL,
		bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")

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
