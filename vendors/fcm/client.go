package fcm

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
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// GoogleEndpoint is FCM's production send base URL.
const GoogleEndpoint = "https://fcm.googleapis.com"

// Timeouts and sizes of VENDORS.md §1.3.
const (
	dialTimeout      = 5 * time.Second
	handshakeTimeout = 5 * time.Second
	readIdleTimeout  = 15 * time.Second
	pingTimeout      = 5 * time.Second
	// DefaultRequestTimeout bounds one request with its response, token
	// requests included.
	DefaultRequestTimeout = 10 * time.Second
	// maxAnswerBody is how much of an answer body is read; the rest is
	// drained and dropped.
	maxAnswerBody = 64 << 10
	maxDrain      = 256 << 10
)

// connections is how many HTTP/2 connections a client spreads its pushes
// over: FCM allows about 100 streams on each (VENDORS.md §2.2).
//
// TODO: §2.2 wants growth to 16 connections while the in-flight cap stays
// full, and §1.3 a reconnect backoff (1 s doubling to 30 s, ±20 %); this
// keeps 4 that redial on demand.
const connections = 4

// ErrClosed: Push was called after Close.
var ErrClosed = fmt.Errorf("fcm: %w", vendors.ErrClosed)

// Config builds a Client.
type Config struct {
	// Credentials of the notifier, from ParseCredentials. Required.
	Credentials *Credentials
	// Endpoint replaces FCM's send base URL (https, may carry a path
	// prefix); "" uses GoogleEndpoint.
	Endpoint string
	// AuthEndpoint replaces the token base URL; tokens come from its
	// /token. "" uses the service account's token_uri, else Google's.
	AuthEndpoint string
	// RootCAs verifies servers; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	// Logger gets failure logs; nil discards them.
	Logger *slog.Logger
	// RequestTimeout bounds one request with its response; 0 means
	// DefaultRequestTimeout. The caller's context may cut it shorter.
	RequestTimeout time.Duration
	// Now is the clock for token lifetimes and JWTs; nil means time.Now.
	Now func() time.Time
}

// Client sends pushes for one notifier. It is safe for concurrent use;
// each Push is one HTTP/2 stream on one of a few shared connections.
type Client struct {
	creds   *Credentials
	sendURL string
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
	tokens  *tokenSource

	conns  [connections]*http2.Transport
	next   atomic.Uint32
	closed atomic.Bool
	once   sync.Once
}

// New checks cfg and builds a client. It contacts nobody: the first push
// fetches the access token and dials.
func New(cfg Config) (*Client, error) {
	c := cfg.Credentials
	if c == nil {
		return nil, &vendors.FieldError{Field: "credentials", Reason: "required"}
	}
	base, err := baseURL("endpoint", cfg.Endpoint, GoogleEndpoint)
	if err != nil {
		return nil, err
	}
	tokURL, err := tokenURL(cfg.AuthEndpoint, c)
	if err != nil {
		return nil, err
	}

	cl := &Client{
		creds:   c,
		sendURL: SendURL(base, c.ProjectID),
		timeout: cfg.RequestTimeout,
		now:     cfg.Now,
		log:     cfg.Logger,
	}
	if cl.timeout <= 0 {
		cl.timeout = DefaultRequestTimeout
	}
	if cl.now == nil {
		cl.now = time.Now
	}
	if cl.log == nil {
		cl.log = slog.New(slog.DiscardHandler)
	}
	roots := cfg.RootCAs
	if roots == nil {
		roots = vendors.TrustPool()
	}
	tlsConf := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}

	for i := range cl.conns {
		cl.conns[i] = &http2.Transport{
			TLSClientConfig:            tlsConf.Clone(),
			DialTLSContext:             dialTLS,
			StrictMaxConcurrentStreams: true,
			ReadIdleTimeout:            readIdleTimeout,
			PingTimeout:                pingTimeout,
		}
	}
	// Google's token host speaks HTTP/2 and HTTP/1.1; a private one may
	// offer either.
	authTransport := &http.Transport{
		TLSClientConfig:     tlsConf.Clone(),
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		TLSHandshakeTimeout: handshakeTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     time.Minute,
	}
	cl.tokens = &tokenSource{creds: c, url: tokURL, now: cl.now, timeout: cl.timeout,
		http: &http.Client{Transport: authTransport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			}}}
	return cl, nil
}

// SendURL is the messages:send URL of project under base.
func SendURL(base, project string) string {
	return base + "/v1/projects/" + url.PathEscape(project) + "/messages:send"
}

// dialTLS connects in two bounded steps, TCP then TLS, and insists on h2:
// FCM HTTP v1 is HTTP/2 only here.
func dialTLS(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial fcm: %w", err)
	}

	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tls handshake fcm: %w", err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
		conn.Close()
		return nil, fmt.Errorf("fcm server did not offer h2 (got %q)", p)
	}
	return conn, nil
}

// Push sends n to one device and classifies the answer. requestID is not
// used: FCM has no client-chosen message id. A refused access token is
// renewed and the push resent once, outside the retry budget.
func (c *Client) Push(ctx context.Context, deviceToken string, n *messages.Notification,
	requestID string) vendors.Result {

	if c.closed.Load() {
		return vendors.Result{Class: vendors.Retryable, Err: ErrClosed}
	}
	body, err := BuildRequest(n, c.creds, deviceToken)
	switch {
	case errors.Is(err, ErrBadDeviceToken):
		return vendors.Result{Class: vendors.TokenInvalid, Err: err}
	case err != nil:
		return vendors.Result{Class: vendors.PayloadError, Err: err}
	}

	res, ans, gen := c.attempt(ctx, body)
	if refreshable(res.HTTPStatus, ans) {
		c.tokens.invalidate(gen)
		res, _, _ = c.attempt(ctx, body)
	}
	if res.Class != vendors.Delivered {
		c.log.Debug("fcm push not delivered", "token", vendors.MaskToken(deviceToken),
			"class", res.Class.String(), "status", res.HTTPStatus, "reason", res.Reason,
			"err", res.Err)
	}
	return res
}

// attempt gets an access token and sends once; it reports the answer and
// the token generation it used.
func (c *Client) attempt(ctx context.Context, body []byte) (vendors.Result, Answer, uint64) {
	tok, gen, terr := c.tokens.get(ctx)
	if terr != nil {
		return terr.result(), Answer{}, 0
	}
	res, ans := c.send(ctx, tok, body)
	return res, ans, gen
}

// send posts one request on the next connection and classifies the answer.
func (c *Client) send(ctx context.Context, accessToken string,
	body []byte) (vendors.Result, Answer) {

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.sendURL,
		bytes.NewReader(body))
	if err != nil {
		return vendors.Result{Class: vendors.PayloadError, Err: fmt.Errorf("fcm: %w", err)},
			Answer{}
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")

	conn := c.conns[c.next.Add(1)%connections]
	resp, err := conn.RoundTrip(req)
	if err != nil {
		// No answer: network error, timeout, reset stream, GOAWAY.
		return vendors.Result{Class: vendors.Retryable,
			Err: fmt.Errorf("fcm push: %w", stripURL(err))}, Answer{}
	}
	raw := readAnswer(resp)

	res := vendors.Result{HTTPStatus: resp.StatusCode}
	if d, ok := vendors.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
		res.RetryAfter = d
	}
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &ok) // a 200 is delivered even without a name
		res.Class, res.VendorID = vendors.Delivered, ok.Name
		return res, Answer{}
	}
	ans := ParseAnswer(raw)
	res.Class, res.Reason = Classify(resp.StatusCode, ans), ans.Reason()
	return res, ans
}

// readAnswer reads at most maxAnswerBody of the body, drains a bounded
// rest so the stream can end cleanly, and closes it.
func readAnswer(resp *http.Response) []byte {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	return body
}

// stripURL keeps the cause of a *url.Error: its text repeats the URL,
// which is harmless here but noisy in every log line.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Close stops the client: later pushes fail as retryable and idle
// connections close. Pushes in flight finish.
func (c *Client) Close() {
	c.once.Do(func() {
		c.closed.Store(true)
		for _, t := range c.conns {
			t.CloseIdleConnections()
		}
		if t, ok := c.tokens.http.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		// Connections busy now close once their last push ends.
		time.AfterFunc(c.timeout+time.Second, func() {
			for _, t := range c.conns {
				t.CloseIdleConnections()
			}
		})
	})
}
