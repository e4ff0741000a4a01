// Package api serves Herald's REST API (SPEC.md §11): it routes a request,
// authenticates its token, checks authorization, validates the input and
// turns the call into one request to the node's actors through Backend.
// Answers use the envelopes and the error catalogue of §11.1.
//
// Callers build a Server with New and mount it as an http.Handler; the
// Backend they pass owns all state, so the Server itself holds none.
package api

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/stats"
)

// Backend is how the REST layer reaches the node's actors.
type Backend interface {
	// CreateApp creates org#name; reply carries the record and the one-time
	// client secret.
	CreateApp(ctx context.Context, org, name string) (*messages.AppReply, error)
	// App returns the app's current record (cached per node). A missing app
	// returns ErrAppNotFound.
	App(ctx context.Context, appKey string) (*messages.AppRecord, error)
	// AppRequest sends PutNotifier / DeleteNotifier / GetApp / PutTemplate /
	// DeleteTemplate / PutPushConfig to the app grain.
	AppRequest(ctx context.Context, appKey string, req proto.Message) (proto.Message, error)
	// UserRequest sends PutBinding / GetBindings / PresenceEvent / GetBadge /
	// GetUser, the settings messages (PutNotificationSetting,
	// GetNotificationSettings, PutUserLanguage, PutUserTimezone,
	// PutUserTemplate, PutUserProfile) and Preview to the user grain of
	// (appKey, user).
	UserRequest(ctx context.Context, appKey, user string, req proto.Message) (proto.Message, error)
	// Push submits a message and returns when every recipient has a final
	// outcome or ctx is done (then pending > 0).
	Push(ctx context.Context, m *messages.PushMessage) (*messages.PushResult, error)
	// Ready reports readiness for /readyz ("" when ready, else what is
	// missing).
	Ready() string
	// Statistics answers a statistics query (§11.5): days begin to end
	// (yyyy-MM-dd, in loc), platform "", ALL, APNS or ANDROID. Invalid
	// parameters return a *stats.FieldError.
	Statistics(ctx context.Context, appKey, begin, end, platform string,
		loc *time.Location) (stats.Report, error)
}

// ErrAppNotFound is returned by Backend.App for an app that does not exist.
var ErrAppNotFound = errors.New("app not found")

// ErrUnavailable marks a Backend error as transient: the cluster could not
// reach the state the request needs right now (no activation, a member
// down, no quorum). The client gets 503 and may retry; a Backend wraps it
// with %w.
var ErrUnavailable = errors.New("temporarily unavailable")

// Limiter decides the per-app rate limits of SPEC.md §11.1. Allow reports
// whether one more request of bucket ("user", "settings", ...) fits in the
// app's current window; app carries the app's configured limits.
type Limiter interface {
	Allow(app *messages.AppRecord, bucket string) bool
}

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	Backend Backend
	// BootstrapToken authorizes app creation (§11.10) and nothing else;
	// empty disables app creation.
	BootstrapToken string
	// TokenTTL is the lifetime of a token requested without ttl, and
	// MaxTokenTTL caps any requested ttl. Both default to 5184000 s.
	TokenTTL, MaxTokenTTL time.Duration
	Logger                *slog.Logger
	// Now is the clock for token expiry and envelope times.
	Now func() time.Time
	// RequestTimeout bounds each backend call except pushes, which use
	// their own wait (§11.8). Default 10 s.
	RequestTimeout time.Duration
	// Limiter applies rate limits; nil means unlimited.
	Limiter Limiter
}

const (
	defaultTokenTTL       = 5184000 * time.Second
	defaultRequestTimeout = 10 * time.Second
	// maxRequestBody bounds every request body; the largest legal one is a
	// group message with 3000 members.
	maxRequestBody = 1 << 20
)

// Server is the REST API as an http.Handler.
type Server struct {
	opts   Options
	log    *slog.Logger
	routes []route
}

// New returns a Server for o, with defaults filled in.
func New(o Options) *Server {
	if o.TokenTTL <= 0 {
		o.TokenTTL = defaultTokenTTL
	}
	if o.MaxTokenTTL <= 0 {
		o.MaxTokenTTL = defaultTokenTTL
	}
	if o.TokenTTL > o.MaxTokenTTL {
		o.TokenTTL = o.MaxTokenTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = defaultRequestTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o, log: o.Logger}
	s.routes = s.table()
	return s
}
