package honor

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oauth"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Production base URLs (VENDORS.md §2.4).
const (
	DefaultEndpoint     = "https://push-api.cloud.honor.com"
	DefaultAuthEndpoint = "https://iam.developer.honor.com"
	tokenPath           = "/auth/token"
	contentType         = "application/json"
)

// ErrClosed: Push was called after Close.
var ErrClosed = fmt.Errorf("honor: %w", vendors.ErrClosed)

// Config builds a Client.
type Config struct {
	// Credentials of the notifier, from ParseCredentials. Required.
	Credentials *Credentials
	// Endpoint and AuthEndpoint replace the production send and token
	// base URLs; the vendor paths are appended. "" keeps Honor's.
	Endpoint, AuthEndpoint string
	// RootCAs verifies the servers; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	// Logger gets failure logs; nil discards them.
	Logger *slog.Logger
	// RequestTimeout bounds one request with its response, and one token
	// request; 0 means 10 s.
	RequestTimeout time.Duration
	// Now is the clock for token lifetimes and the timestamp header.
	Now func() time.Time
}

// Client sends pushes for one honor notifier. It is safe for concurrent
// use; requests share the transport's connections (h2 when offered).
type Client struct {
	creds   *Credentials
	sendURL string
	http    *http.Client
	sender  *oem.Sender
	now     func() time.Time
	log     *slog.Logger
	closed  atomic.Bool
}

// New checks cfg and builds a client. It contacts nobody: the access
// token is fetched by the first push.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, &vendors.FieldError{Field: "credentials", Reason: "required"}
	}
	send, err := oem.BaseURL(cfg.Endpoint, DefaultEndpoint, "endpoint")
	if err != nil {
		return nil, err
	}
	auth, err := oem.BaseURL(cfg.AuthEndpoint, DefaultAuthEndpoint, "auth_endpoint")
	if err != nil {
		return nil, err
	}

	c := &Client{
		creds:   cfg.Credentials,
		sendURL: sendURL(send, cfg.Credentials.AppID),
		http:    oem.NewHTTPClient(cfg.RootCAs),
		now:     cfg.Now,
		log:     cfg.Logger,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	tokens, err := oauth.New(oauth.Config{
		TokenURL:     auth + tokenPath,
		ClientID:     cfg.Credentials.ClientID,
		ClientSecret: cfg.Credentials.ClientSecret,
		HTTPClient:   c.http,
		Timeout:      cfg.RequestTimeout,
		Now:          c.now,
	})
	if err != nil {
		return nil, fmt.Errorf("honor: %w", err)
	}
	c.sender = &oem.Sender{HTTP: c.http, Tokens: tokens, Timeout: cfg.RequestTimeout}
	return c, nil
}

func sendURL(base, appID string) string {
	return base + "/api/v1/" + appID + "/sendMessage"
}

// TokenFetches counts the access-token requests the client started.
func (c *Client) TokenFetches() int { return c.sender.Tokens.Fetches() }

// Push sends n to one device and classifies the answer. requestID is not
// used: Honor names its own request ids, returned as VendorID.
func (c *Client) Push(ctx context.Context, deviceToken string, n *messages.Notification,
	requestID string) vendors.Result {

	if c.closed.Load() {
		return vendors.Result{Class: vendors.Retryable, Err: ErrClosed}
	}
	if !oem.ValidToken(deviceToken) {
		return vendors.Result{Class: vendors.TokenInvalid, Err: ErrBadDeviceToken}
	}
	body, err := BuildBody(n, c.creds, deviceToken)
	if err != nil {
		return vendors.Result{Class: vendors.PayloadError, Err: err}
	}

	ans, err := c.sender.Send(ctx, func(tok string) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, c.sendURL, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("honor: build request: %w", err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("timestamp", strconv.FormatInt(c.now().UnixMilli(), 10))
		return req, nil
	}, authRefused)
	res := c.result(ans, err, deviceToken)

	if res.Class != vendors.Delivered {
		c.log.Debug("honor push not delivered", "token", vendors.MaskToken(deviceToken),
			"class", res.Class.String(), "status", res.HTTPStatus, "reason", res.Reason,
			"err", res.Err)
	}
	return res
}

// result classifies an answer, or the failure to get one.
func (c *Client) result(ans oem.Answer, err error, deviceToken string) vendors.Result {
	if err != nil {
		return oem.FailureResult(fmt.Errorf("honor: %w", err))
	}
	a, code := parseAnswer(ans.Body)
	res := vendors.Result{
		Class: Classify(ans.Status, code, a.Data.ExpireTokens, a.Data.FailTokens,
			deviceToken),
		HTTPStatus: ans.Status,
		Reason:     code,
		VendorID:   a.Data.RequestID,
	}
	switch res.Class {
	case vendors.Delivered:
		res.Reason = ""
	case vendors.TokenInvalid:
		res.Reason = "expireTokens"
	case vendors.Retryable:
		if code == codeOK {
			res.Reason = "failTokens"
		}
	}
	if d, ok := vendors.ParseRetryAfter(ans.RetryAfter, c.now()); ok {
		res.RetryAfter = d
	}
	return res
}

// Close stops the client: later pushes fail as retryable and idle
// connections close. Pushes in flight finish.
func (c *Client) Close() {
	if c.closed.Swap(true) {
		return
	}
	c.http.CloseIdleConnections()
}
