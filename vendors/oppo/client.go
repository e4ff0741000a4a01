package oppo

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

// DefaultEndpoint is OPPO's China base URL; it serves both auth and send.
const DefaultEndpoint = "https://api.push.oppomobile.com"

// Paths under the base URL (VENDORS.md §2.6).
const (
	authPath    = "/server/v1/auth"
	unicastPath = "/server/v1/message/notification/unicast"
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
	maxConnsPerHost       = 16
)

// TokenRenewAfter is when a cached auth_token is replaced: it lives 24 h
// and Herald renews it after 20 h (VENDORS.md §1.2).
const TokenRenewAfter = 20 * time.Hour

// Errors a Result may carry; callers branch on them with errors.Is.
var (
	ErrClosed          = errorf("%w", vendors.ErrClosed)
	ErrBadDeviceToken  = errorf("%w", vendors.ErrBadDeviceToken)
	ErrPayloadTooLarge = errorf("%w", vendors.ErrPayloadTooLarge)
	ErrBadCustom       = errorf("%w", vendors.ErrBadCustom)
	// ErrAuth: the auth endpoint gave no token.
	ErrAuth = errors.New("oppo: auth failed")
)

func errorf(format string, args ...any) error {
	return fmt.Errorf("oppo: "+format, args...)
}

// Config builds a Client.
type Config struct {
	Credentials *Credentials
	// Endpoint is the send base URL; "" is DefaultEndpoint.
	Endpoint string
	// AuthEndpoint is the auth base URL; "" is Endpoint.
	AuthEndpoint string
	// RootCAs verifies servers; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	// Logger gets failure logs; nil discards them.
	Logger *slog.Logger
	// RequestTimeout bounds one request with its answer (auth included);
	// 0 is DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Now is the clock for timestamps and token age; nil is time.Now.
	Now func() time.Time
}

// Client sends one notifier's pushes to OPPO. It is safe for concurrent
// use: pushes share one cached auth_token, fetched single-flight.
type Client struct {
	creds   *Credentials
	sendURL string
	authURL string
	http    *http.Client
	tr      *http.Transport
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	// fetching holds one slot: whoever takes it fetches the token while
	// the others wait for it (or their context).
	fetching chan struct{}

	// mu guards the cached token. gen counts fetched tokens, so a push
	// refused with token gen drops it only if no newer one came since.
	mu      sync.Mutex
	token   string
	fetched time.Time
	gen     uint64

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
}

// New checks cfg and builds a client. It does not connect: the auth token
// is fetched by the first push.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, &vendors.FieldError{Field: "credentials", Reason: "required"}
	}
	send, err := oem.BaseURL(cfg.Endpoint, DefaultEndpoint, "endpoint")
	if err != nil {
		return nil, err
	}
	auth, err := oem.BaseURL(cfg.AuthEndpoint, send, "auth_endpoint")
	if err != nil {
		return nil, err
	}

	c := &Client{
		creds: cfg.Credentials, sendURL: send + unicastPath, authURL: auth + authPath,
		timeout: cfg.RequestTimeout, now: cfg.Now, log: cfg.Logger,
		fetching: make(chan struct{}, 1), closed: make(chan struct{}),
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
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}
	c.tr = &http.Transport{
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
	c.http = &http.Client{Transport: c.tr}
	return c, nil
}

// Push sends n to one regId and classifies the answer. A send refused for
// its auth_token (code 11) is resent once with a fresh token.
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
	msg, err := BuildMessage(n, c.creds, deviceToken)
	if err != nil {
		return vendors.Result{Class: vendors.PayloadError, Err: err}
	}

	// A refused token is dropped (unless a concurrent push already
	// replaced it) and the push resent once, outside the retry budget.
	res, gen := c.sendOnce(ctx, msg)
	if res.Reason == strconv.Itoa(CodeBadAuthToken) {
		c.drop(gen)
		res, _ = c.sendOnce(ctx, msg)
	}
	if res.Class != vendors.Delivered {
		c.log.Debug("oppo push not delivered", "token", vendors.MaskToken(deviceToken),
			"class", res.Class.String(), "status", res.HTTPStatus, "reason", res.Reason,
			"err", res.Err)
	}
	return res
}

// sendOnce makes one attempt and reports the token generation it used.
func (c *Client) sendOnce(ctx context.Context, msg []byte) (vendors.Result, uint64) {
	tok, gen, fail := c.authToken(ctx)
	if fail != nil {
		return *fail, gen
	}

	form := url.Values{"auth_token": {tok}, "message": {string(msg)}}
	status, hdr, body, err := c.post(ctx, c.sendURL, form, tok)
	if err != nil {
		return vendors.Result{Class: vendors.Retryable, Err: err}, gen
	}
	res := classifyAnswer(status, body)
	if d, ok := vendors.ParseRetryAfter(hdr.Get("Retry-After"), c.now()); ok {
		res.RetryAfter = d
	}
	return res, gen
}

// post sends a form and reads at most maxAnswerBody of the answer. An
// error means no answer came.
func (c *Client) post(ctx context.Context, u string, form url.Values,
	authToken string) (int, http.Header, []byte, error) {

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u,
		strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, nil, errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	if authToken != "" {
		req.Header.Set("auth_token", authToken)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
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

// answer is OPPO's JSON answer to auth and send.
type answer struct {
	Code    *int            `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// classifyAnswer applies VENDORS.md §1.8 to one send answer.
func classifyAnswer(status int, body []byte) vendors.Result {
	var a answer
	parsed := json.Unmarshal(body, &a) == nil && a.Code != nil
	code := 0
	if parsed {
		code = *a.Code
	}
	r := vendors.Result{Class: Classify(status, code, parsed), HTTPStatus: status}
	if r.Class == vendors.Delivered {
		var d struct {
			MessageID string `json:"messageId"`
		}
		_ = json.Unmarshal(a.Data, &d)
		r.VendorID = d.MessageID
		return r
	}
	if parsed && code != 0 {
		r.Reason = strconv.Itoa(code)
	}
	return r
}

// Close stops the client: later pushes fail as retryable and idle
// connections close.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.tr.CloseIdleConnections()
	})
}

// validToken refuses regIds that cannot go in a message: empty, too long
// or with control characters.
func validToken(tok string) bool {
	if tok == "" || len(tok) > 512 {
		return false
	}
	for _, r := range tok {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
