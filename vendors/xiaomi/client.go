package xiaomi

import (
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
	"sync"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Production base URLs (VENDORS.md §2.5).
const (
	DefaultEndpoint     = "https://api.xmpush.xiaomi.com"
	DefaultAuthEndpoint = "https://feedback.xmpush.xiaomi.com"
	sendPath            = "/v3/message/regid"
	feedbackPath        = "/v1/feedback/fetch_invalid_regids"
)

// Timeouts of VENDORS.md §1.3.
const (
	dialTimeout           = 5 * time.Second
	handshakeTimeout      = 5 * time.Second
	readIdleTimeout       = 15 * time.Second
	pingTimeout           = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	maxAnswerBody         = 64 << 10
	maxDrain              = 256 << 10
	// maxConnsPerHost follows §2: 16 concurrent requests per notifier.
	maxConnsPerHost = 16
)

// PollInterval is how often one node per notifier asks the feedback API
// for dead regIds (VENDORS.md §2.5).
const PollInterval = 10 * time.Minute

// CodeBadAuth is MiPush's answer to a wrong app secret: treat as
// credential-error (VENDORS.md §1.8).
const CodeBadAuth = 21301

// Errors a Result may carry; callers branch on them with errors.Is.
var (
	ErrClosed          = errorf("%w", vendors.ErrClosed)
	ErrBadDeviceToken  = errorf("%w", vendors.ErrBadDeviceToken)
	ErrPayloadTooLarge = errorf("%w", vendors.ErrPayloadTooLarge)
	ErrBadCustom       = errorf("%w", vendors.ErrBadCustom)
	// ErrFeedback: the feedback API refused or failed a poll.
	ErrFeedback = errors.New("xiaomi: feedback poll failed")
)

// Config builds a Client.
type Config struct {
	Credentials *Credentials
	// Endpoint is the send base URL; "" is DefaultEndpoint.
	Endpoint string
	// AuthEndpoint is the feedback base URL; "" is DefaultAuthEndpoint.
	AuthEndpoint string
	// RootCAs verifies servers; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	// Logger gets failure logs; nil discards them.
	Logger *slog.Logger
	// RequestTimeout bounds one request with its answer; 0 is
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Now is the clock for Retry-After dates; nil is time.Now.
	Now func() time.Time
}

// Client sends one notifier's pushes to MiPush and polls its feedback
// API. It is safe for concurrent use.
type Client struct {
	creds    *Credentials
	sendURL  string
	feedback string
	http     *http.Client
	tr       *http.Transport
	timeout  time.Duration
	now      func() time.Time
	log      *slog.Logger

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
}

// New checks cfg and builds a client. It does not connect.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, &vendors.FieldError{Field: "credentials", Reason: "required"}
	}
	send, err := oem.BaseURL(cfg.Endpoint, DefaultEndpoint, "endpoint")
	if err != nil {
		return nil, err
	}
	fb, err := oem.BaseURL(cfg.AuthEndpoint, DefaultAuthEndpoint, "auth_endpoint")
	if err != nil {
		return nil, err
	}

	c := &Client{
		creds: cfg.Credentials, sendURL: send + sendPath, feedback: fb + feedbackPath,
		timeout: cfg.RequestTimeout, now: cfg.Now, log: cfg.Logger,
		closed: make(chan struct{}),
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
	c.tr = newTransport(roots)
	c.http = &http.Client{Transport: c.tr}
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
		MaxIdleConnsPerHost: maxConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: readIdleTimeout,
			PingTimeout:     pingTimeout,
		},
	}
}

// Push sends n to one regId. MiPush accepts dead regIds silently: they
// come back later through FetchInvalid.
func (c *Client) Push(ctx context.Context, deviceToken string, n *messages.Notification,
	_ string) vendors.Result {

	select {
	case <-c.closed:
		return vendors.Result{Class: vendors.Retryable, Err: ErrClosed}
	default:
	}
	if !validToken(deviceToken) {
		return vendors.Result{Class: vendors.TokenInvalid, Err: ErrBadDeviceToken}
	}
	form, err := BuildForm(n, c.creds, deviceToken)
	if err != nil {
		return vendors.Result{Class: vendors.PayloadError, Err: err}
	}

	status, hdr, body, err := c.do(ctx, http.MethodPost, c.sendURL,
		strings.NewReader(form.Encode()))
	if err != nil {
		return vendors.Result{Class: vendors.Retryable, Err: err}
	}
	res := classifyAnswer(status, body)
	if d, ok := vendors.ParseRetryAfter(hdr.Get("Retry-After"), c.now()); ok {
		res.RetryAfter = d
	}
	if res.Class != vendors.Delivered {
		c.log.Debug("xiaomi push not delivered", "token", vendors.MaskToken(deviceToken),
			"class", res.Class.String(), "status", status, "reason", res.Reason)
	}
	return res
}

// do makes one request with the app secret and reads at most
// maxAnswerBody of the answer. An error means no answer came.
func (c *Client) do(ctx context.Context, method, u string,
	body io.Reader) (int, http.Header, []byte, error) {

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, nil, errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "key="+c.creds.AppSecret)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is harmless, but keep errors short
		}
		return 0, nil, nil, errorf("request: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if err != nil {
		return 0, nil, nil, errorf("read answer: %w", err)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// answer is MiPush's JSON answer, success or error.
type answer struct {
	Result string `json:"result"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	Data   struct {
		ID   string   `json:"id"`
		List []string `json:"list"`
	} `json:"data"`
}

// classifyAnswer applies VENDORS.md §1.8 to one send answer.
func classifyAnswer(status int, body []byte) vendors.Result {
	var a answer
	parsed := json.Unmarshal(body, &a) == nil
	r := vendors.Result{Class: Classify(status, a.Code, parsed), HTTPStatus: status}
	if r.Class == vendors.Delivered {
		r.VendorID = a.Data.ID
		return r
	}
	if parsed && a.Code != 0 {
		r.Reason = strconv.Itoa(a.Code)
	}
	return r
}

// Classify maps an answer to its class: HTTP status first, then the
// code of a 200. parsed is false when the body was not MiPush's JSON.
func Classify(status, code int, parsed bool) vendors.Class {
	switch {
	case status >= 500:
		return vendors.Retryable
	case status == http.StatusTooManyRequests:
		return vendors.Throttled
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return vendors.CredentialError
	case code == CodeBadAuth:
		return vendors.CredentialError
	case status != http.StatusOK || !parsed || code != 0:
		return vendors.PayloadError
	}
	return vendors.Delivered
}

// FetchInvalid asks the feedback API for regIds that became invalid since
// the last call; MiPush hands each out once, so the caller must act on
// (unbind) every one it gets. The error wraps ErrFeedback when the API
// answered with an error, and says nothing of the secret.
func (c *Client) FetchInvalid(ctx context.Context) ([]string, error) {
	select {
	case <-c.closed:
		return nil, ErrClosed
	default:
	}
	status, _, body, err := c.do(ctx, http.MethodGet, c.feedback, nil)
	if err != nil {
		return nil, err
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: status %d, unreadable answer", ErrFeedback, status)
	}
	if status != http.StatusOK || a.Code != 0 {
		class := Classify(status, a.Code, true)
		return nil, fmt.Errorf("%w: status %d code %d (%v)", ErrFeedback, status, a.Code,
			class)
	}
	return a.Data.List, nil
}

// PollInvalid calls FetchInvalid every interval (PollInterval when 0)
// until ctx ends or the client closes, handing each non-empty batch to
// found. Failed polls are logged and tried again at the next tick. Run it
// on one node per xiaomi notifier; found must not block for long.
func (c *Client) PollInvalid(ctx context.Context, interval time.Duration,
	found func(tokens []string)) {

	if interval <= 0 {
		interval = PollInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.closed:
			return
		case <-tick.C:
		}
		tokens, err := c.FetchInvalid(ctx)
		if err != nil {
			c.log.Warn("xiaomi feedback poll failed", "err", err)
			continue
		}
		if len(tokens) > 0 {
			found(tokens)
		}
	}
}

// Close stops the client: later pushes fail as retryable, idle
// connections close and PollInvalid returns.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.tr.CloseIdleConnections()
	})
}

// validToken refuses regIds that cannot be a form value of one device:
// empty, too long, a comma (MiPush's list separator) or control bytes.
func validToken(tok string) bool {
	if tok == "" || len(tok) > 512 {
		return false
	}
	for _, r := range tok {
		if r <= ' ' || r == 0x7f || r == ',' {
			return false
		}
	}
	return true
}
