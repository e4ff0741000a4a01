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
// Push is one HTTP/2 stream on one of the notifier's connections (pool.go).
type Client struct {
	creds   *Credentials
	host    string
	voip    bool
	tlsConf *tls.Config
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
	pool    *pool
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

	c.pool = newPool(c.host, c.tlsConf, c.timeout, c.newToken, c.log, c.now)
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

// TODO: no gauge yet of the days a p12 certificate has left (§1.2).

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
	res, conn := c.send(ctx, req)
	if refreshable(res.HTTPStatus, res.Reason) && c.creds.AuthType == AuthP8 {
		c.pool.retire(conn, true)
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

// send makes one attempt and reports the connection that answered. A
// request the server left unprocessed (REFUSED_STREAM, GOAWAY) is resent
// at once on another connection, up to maxResends times, outside the
// retry budget (VENDORS.md §1.5).
func (c *Client) send(ctx context.Context, req *apns2.Notification) (vendors.Result,
	*poolConn) {

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var refused *poolConn
	for resends := 0; ; resends++ {
		conn, err := c.pool.acquire(ctx, refused)
		if err != nil {
			return vendors.Result{Class: vendors.Retryable, Err: fmt.Errorf("push: %w", err)},
				nil
		}
		ans := &answer{}
		resp, err := conn.push.PushWithContext(context.WithValue(ctx, answerKey{}, ans), req)
		c.pool.release(conn)
		if ans.status != 0 {
			return ans.result(resp, req.ApnsID, c.now()), conn
		}

		// No answer arrived: network error, timeout, refused stream.
		// The URL error names the device token: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if err == nil {
			err = errors.New("apns: no answer")
		}
		if unprocessed(err) && resends < maxResends && ctx.Err() == nil {
			refused = conn
			continue
		}
		return vendors.Result{Class: vendors.Retryable, Err: fmt.Errorf("push: %w", err)}, conn
	}
}

// Streams is how many requests the open connections take at once, the sum
// of their servers' SETTINGS; 0 before the first connection. The delivery
// actor caps its requests in flight by it (vendors.StreamLimiter).
func (c *Client) Streams() int { return c.pool.streams() }

// Saturated is told by the delivery actor whether its in-flight cap is
// full; while it stays full the pool adds connections, up to MaxConns
// (vendors.Saturator).
func (c *Client) Saturated(full bool) { c.pool.saturated(full, c.now()) }

// Close stops the client: later pushes fail as retryable, connections close
// once their requests end.
func (c *Client) Close() { c.pool.close() }

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
