package apns

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
	"sync"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Timeouts of VENDORS.md §1.3.
const (
	dialTimeout      = 5 * time.Second
	handshakeTimeout = 5 * time.Second
	readIdleTimeout  = 15 * time.Second
	pingTimeout      = 5 * time.Second
	// DefaultRequestTimeout bounds one request with its response.
	DefaultRequestTimeout = 10 * time.Second
	// maxAnswerBody is how much of an answer body is read; the rest is
	// drained and dropped.
	maxAnswerBody = 64 << 10
	// maxDrain bounds the bytes drained after maxAnswerBody.
	maxDrain = 256 << 10
)

// Errors a Result may carry; callers branch on them with errors.Is.
var (
	// ErrClosed: Push was called after Close.
	ErrClosed = fmt.Errorf("apns: %w", vendors.ErrClosed)
	// ErrCertificateExpired: the p12 certificate has expired.
	ErrCertificateExpired = fmt.Errorf("apns: certificate: %w", vendors.ErrCredentialExpired)
	// ErrBadDeviceToken: the token cannot be put in a request path.
	ErrBadDeviceToken = fmt.Errorf("apns: %w", vendors.ErrBadDeviceToken)
)

// Environments of an APNs notifier.
const (
	Development = "development"
	Production  = "production"
)

// Config builds a Client.
type Config struct {
	// Credentials of the notifier, from ParseCredentials. Required.
	Credentials *Credentials
	// Environment is development (sandbox host) or production; "" means
	// production.
	Environment string
	// Endpoint replaces the base URL (https only, may carry a path prefix);
	// "" uses Apple's host for the environment.
	Endpoint string
	// VoIP sends apns-voip pushes; also implied by an apns-voip provider.
	VoIP bool
	// RootCAs verifies the server; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	// Logger gets connection and failure logs; nil discards them.
	Logger *slog.Logger
	// RequestTimeout bounds one request with its response; 0 means
	// DefaultRequestTimeout. The caller's context may cut it shorter.
	RequestTimeout time.Duration
	// Now is the clock for certificate expiry; nil means time.Now.
	Now func() time.Time
}

// Client sends pushes for one notifier. It is safe for concurrent use; each
// Push is one HTTP/2 stream on a shared connection.
type Client struct {
	creds   *Credentials
	host    string
	voip    bool
	tlsConf *tls.Config
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	// mu guards the fields below. A fresh connection after an auth
	// refusal replaces conn, and gen counts replacements so concurrent
	// refusals renew once (single-flight).
	mu     sync.Mutex
	conn   *apns2.Client
	gen    uint64
	closed bool
}

// New checks cfg and builds a client. It does not connect: the first push
// dials.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, &vendors.FieldError{Field: "credentials", Reason: "required"}
	}
	host, err := baseURL(cfg.Environment, cfg.Endpoint)
	if err != nil {
		return nil, err
	}

	c := &Client{
		creds:   cfg.Credentials,
		host:    host,
		voip:    cfg.VoIP || cfg.Credentials.Provider == ProviderVoIP,
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
	c.tlsConf = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if c.creds.AuthType == AuthP12 {
		c.tlsConf.Certificates = []tls.Certificate{c.creds.Certificate}
	}

	c.conn = c.newConn(c.newToken())
	return c, nil
}

// baseURL picks Apple's host for the environment or checks the override.
func baseURL(env, endpoint string) (string, error) {
	host := apns2.HostProduction
	switch env {
	case "", Production:
	case Development:
		host = apns2.HostDevelopment
	default:
		return "", &vendors.FieldError{Field: "environment", Reason: "must be development or production"}
	}
	if endpoint == "" {
		return host, nil
	}

	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
		return "", &vendors.FieldError{Field: "endpoint", Reason: "must be an https URL"}
	}
	return strings.TrimSuffix(endpoint, "/"), nil
}

// newToken gives the JWT holder for token auth, nil for certificate auth.
// apns2's token renews the JWT 50 minutes after it was issued, which keeps
// VENDORS.md §1.2's "after 50 min, never within 20 min of the last".
func (c *Client) newToken() *token.Token {
	if c.creds.AuthType != AuthP8 {
		return nil
	}
	return &token.Token{
		AuthKey: c.creds.PrivateKey,
		KeyID:   c.creds.KeyID,
		TeamID:  c.creds.TeamID,
	}
}

// newConn builds an apns2 client over a transport of its own: one HTTP/2
// connection pool per notifier, never shared across teams. With
// StrictMaxConcurrentStreams the transport keeps to one connection and
// callers wait for a free stream instead of dialing more.
//
// TODO: VENDORS.md §2.1 wants 2 connections per notifier growing to 8 while
// the in-flight cap stays full, and §1.3 a reconnect backoff (1 s doubling
// to 30 s, ±20 %); this uses one connection that redials on demand.
// TODO: no gauge yet of the days a p12 certificate has left (§1.2).
func (c *Client) newConn(tok *token.Token) *apns2.Client {
	tr := &http2.Transport{
		TLSClientConfig:            c.tlsConf.Clone(),
		DialTLSContext:             dialTLS,
		StrictMaxConcurrentStreams: true,
		ReadIdleTimeout:            readIdleTimeout,
		PingTimeout:                pingTimeout,
	}
	return &apns2.Client{
		Host:        c.host,
		Token:       tok,
		Certificate: c.creds.Certificate,
		HTTPClient:  &http.Client{Transport: &answerReader{base: tr}},
	}
}

// dialTLS connects in two bounded steps: TCP within dialTimeout, then the
// TLS handshake within handshakeTimeout.
func dialTLS(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial apns: %w", err)
	}

	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tls handshake apns: %w", err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
		conn.Close()
		return nil, fmt.Errorf("apns server did not offer h2 (got %q)", p)
	}
	return conn, nil
}

// Push sends n to one device and classifies the answer. apnsID is sent as
// apns-id so a retry of the same push keeps its id. Push never panics on a
// vendor answer and never returns without a class.
func (c *Client) Push(ctx context.Context, deviceToken string, n *messages.Notification,
	apnsID string) vendors.Result {

	if !validDeviceToken(deviceToken) {
		return vendors.Result{Class: vendors.TokenInvalid, Reason: ReasonBadDeviceToken,
			Err: ErrBadDeviceToken}
	}
	if c.creds.AuthType == AuthP12 && !c.now().Before(c.creds.CertNotAfter) {
		return vendors.Result{Class: vendors.CredentialError, Err: ErrCertificateExpired}
	}

	headers, body, err := BuildRequest(n, c.creds, c.voip)
	if err != nil {
		return vendors.Result{Class: vendors.PayloadError, Err: err}
	}
	req := toNotification(deviceToken, apnsID, headers, body)

	// An expired or unknown JWT is renewed once, on a new connection,
	// outside the retry budget (VENDORS.md §1.2, §2.1).
	res, gen := c.send(ctx, req)
	if refreshable(res.HTTPStatus, res.Reason) && c.creds.AuthType == AuthP8 {
		c.renew(gen)
		res, _ = c.send(ctx, req)
	}
	if res.Class != vendors.Delivered {
		c.log.Debug("apns push not delivered", "token", vendors.MaskToken(deviceToken),
			"class", res.Class.String(), "status", res.HTTPStatus, "reason", res.Reason,
			"err", res.Err)
	}
	return res
}

// validDeviceToken refuses tokens that cannot form a request path. Hex is
// not checked: APNs answers a non-hex token itself, and vendorsim's magic
// tokens are not hex.
func validDeviceToken(tok string) bool {
	if tok == "" || len(tok) > 512 {
		return false
	}
	for _, r := range tok {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("/?#%\\", r) {
			return false
		}
	}
	return true
}

// toNotification carries BuildRequest's headers into apns2's request type.
func toNotification(deviceToken, apnsID string, h map[string]string,
	body []byte) *apns2.Notification {

	prio, _ := strconv.Atoi(h[HeaderPriority])
	return &apns2.Notification{
		ApnsID:      apnsID,
		CollapseID:  h[HeaderCollapseID],
		DeviceToken: deviceToken,
		Topic:       h[HeaderTopic],
		Priority:    prio,
		PushType:    apns2.EPushType(h[HeaderPushType]),
		Payload:     body,
	}
}

// send makes one attempt and reports the connection generation it used.
func (c *Client) send(ctx context.Context, req *apns2.Notification) (vendors.Result, uint64) {
	c.mu.Lock()
	conn, gen, closed := c.conn, c.gen, c.closed
	c.mu.Unlock()
	if closed {
		return vendors.Result{Class: vendors.Retryable, Err: ErrClosed}, gen
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ans := &answer{}
	ctx = context.WithValue(ctx, answerKey{}, ans)

	resp, err := conn.PushWithContext(ctx, req)
	if ans.status == 0 {
		// No answer arrived: network error, timeout, refused stream.
		// The URL error names the device token: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if err == nil {
			err = errors.New("apns: no answer")
		}
		return vendors.Result{Class: vendors.Retryable, Err: fmt.Errorf("push: %w", err)}, gen
	}
	return ans.result(resp, req.ApnsID, c.now()), gen
}

// renew replaces the connection and JWT after an auth refusal, unless a
// concurrent push already did since generation gen.
func (c *Client) renew(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.gen != gen {
		return
	}

	old := c.conn
	tok := c.newToken()
	if _, err := tok.Generate(); err != nil {
		c.log.Warn("apns jwt mint failed", "err", err)
	}
	c.conn = c.newConn(tok)
	c.gen++
	c.log.Info("apns connection renewed after auth refusal", "topic", c.creds.BundleID)

	// The old connection drains: requests on it finish within the request
	// timeout, then it is closed once idle.
	old.CloseIdleConnections()
	time.AfterFunc(c.timeout+time.Second, old.CloseIdleConnections)
}

// Close stops the client: later pushes fail as retryable and idle
// connections close. Pushes in flight finish.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.conn.CloseIdleConnections()
	time.AfterFunc(c.timeout+time.Second, c.conn.CloseIdleConnections)
}

// answerKey carries an *answer through the request context to answerReader.
type answerKey struct{}

// answer is what answerReader saw of one response: apns2 exposes neither
// Retry-After nor the 410 timestamp in milliseconds.
type answer struct {
	status     int
	retryAfter string
	apnsID     string
	body       []byte
}

// answerReader reads at most maxAnswerBody of every answer, keeps it with
// the headers apns2 drops, and hands apns2 the bytes read.
type answerReader struct {
	base http.RoundTripper
}

// CloseIdleConnections passes apns2's call on to the HTTP/2 transport.
func (t *answerReader) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *answerReader) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}

	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))

	if ans, ok := req.Context().Value(answerKey{}).(*answer); ok {
		ans.status = resp.StatusCode
		ans.retryAfter = resp.Header.Get("Retry-After")
		ans.apnsID = resp.Header.Get("apns-id")
		ans.body = body
	}
	return resp, nil
}

// result classifies the answer. The body is parsed here, not taken from
// apns2, so a body that is not JSON still yields its status's class.
func (a *answer) result(resp *apns2.Response, sentID string, now time.Time) vendors.Result {
	var parsed struct {
		Reason    string `json:"reason"`
		Timestamp int64  `json:"timestamp"`
	}
	_ = json.Unmarshal(a.body, &parsed) // absent or odd bodies: no reason

	r := vendors.Result{
		Class:      Classify(a.status, parsed.Reason),
		HTTPStatus: a.status,
		Reason:     parsed.Reason,
		VendorID:   a.apnsID,
	}
	if r.VendorID == "" && resp != nil {
		r.VendorID = resp.ApnsID
	}
	if r.VendorID == "" {
		r.VendorID = sentID
	}
	if a.status == http.StatusGone && parsed.Timestamp > 0 {
		r.Timestamp = parsed.Timestamp
	}
	if d, ok := vendors.ParseRetryAfter(a.retryAfter, now); ok {
		r.RetryAfter = d
	}
	return r
}
