package vendors

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/herald-im/herald/messages"
)

// Client is one notifier's wire client for its vendor. The delivery actor
// owns it: it calls Push from several worker goroutines at once (up to its
// in-flight cap), so Push must be safe for concurrent use, and calls Close
// once when the notifier changes or its actor stops.
type Client interface {
	// Push sends n to one device and classifies the answer. requestID is
	// fixed per (message, device token) so retries keep it (APNs apns-id,
	// vivo requestId); clients whose vendor has no such field ignore it.
	// Push never retries on its own except as VENDORS.md §1.2 says (one
	// resend after refreshing a refused auth token).
	Push(ctx context.Context, deviceToken string, n *messages.Notification, requestID string) Result
	Close()
}

// Result is the classified answer to one push attempt.
type Result struct {
	Class Class
	// HTTPStatus is the vendor's HTTP status, 0 when no answer came.
	HTTPStatus int
	// Reason is the vendor's error reason or code ("BadDeviceToken",
	// "UNREGISTERED", "80300007"), "" on success. Never a secret.
	Reason string
	// VendorID is the vendor's id of the accepted push (apns-id, FCM
	// message name, taskId, ...).
	VendorID string
	// Timestamp is the vendor's "token invalid since" time in ms (APNs
	// 410), 0 when the vendor gives none.
	Timestamp int64
	// RetryAfter is the vendor's requested wait, 0 when it named none.
	RetryAfter time.Duration
	// Err describes a failure without a vendor answer (network, timeout,
	// local refusal such as a payload too large). Its text never contains
	// a secret or a full device token.
	Err error
}

// Config is what a Factory gets to build one notifier's client.
type Config struct {
	// Notifier is the notifier as configured: provider, environment,
	// endpoint and auth_endpoint overrides, credentials. Read-only.
	Notifier *messages.Notifier
	// RootCAs is the trust pool for every TLS connection (TrustPool()).
	RootCAs *x509.CertPool
	Logger  *slog.Logger
	// RequestTimeout bounds one request with its response (default 10 s).
	RequestTimeout time.Duration
	// Now is the clock for token lifetimes and signatures.
	Now func() time.Time
}

// Factory builds the client of one notifier. It validates the notifier's
// credentials (a *FieldError naming "credentials.<field>" when one is
// missing or malformed) and must not contact the vendor: auth tokens are
// fetched on first use.
type Factory func(Config) (Client, error)

// FieldError reports a notifier field a vendor client cannot use.
type FieldError struct {
	Field  string // e.g. "credentials.private_key"
	Reason string // short, never the value
}

func (e *FieldError) Error() string {
	if e.Reason == "" {
		return "invalid " + e.Field
	}
	return "invalid " + e.Field + ": " + e.Reason
}

var (
	factoriesMu sync.RWMutex
	factories   = map[string]Factory{}
)

// Register makes f the factory of provider. Vendor packages call it from
// init; registering a provider twice panics, as that is a wiring bug.
func Register(provider string, f Factory) {
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	if _, dup := factories[provider]; dup {
		panic(fmt.Sprintf("vendors: provider %q registered twice", provider))
	}
	factories[provider] = f
}

// Lookup returns the factory of provider, if a vendor package registered it.
func Lookup(provider string) (Factory, bool) {
	factoriesMu.RLock()
	defer factoriesMu.RUnlock()
	f, ok := factories[provider]
	return f, ok
}

// Providers lists the registered providers, sorted.
func Providers() []string {
	factoriesMu.RLock()
	defer factoriesMu.RUnlock()
	out := make([]string, 0, len(factories))
	for p := range factories {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
