package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-im/herald/messages"
)

// access says which credential a route needs (§11.2, "Token" column).
type access int

const (
	// accessNone: no token; the handler authenticates if it must (/token).
	accessNone access = iota
	// accessBootstrap: the deployment's bootstrap admin token only.
	accessBootstrap
	// accessApp: an app token of the path's app.
	accessApp
	// accessUser: an app token, or the user token of the path's {u}.
	accessUser
	// accessOwnUser: only the user token of the path's {u} (§11.1, the
	// receiver-template API).
	accessOwnUser
)

// route is one endpoint. Pattern segments in braces are parameters.
type route struct {
	method  string
	pattern []string
	access  access
	// bucket is the rate-limit bucket of §11.1, "" for unlimited.
	bucket string
	handle func(*call) error
}

// call is one request on its way through the router and a handler.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	start  time.Time
	params map[string]string
	// appKey is "org#app" of the path, "" outside /{org}/{app}.
	appKey string
	// path is the envelope's path: the part after /{org}/{app}.
	path string
	// app is the path's app record once authenticated.
	app *messages.AppRecord
	// tok is the authenticated access token, nil when none was needed.
	tok *token
	// status is the HTTP status answered, for the request log.
	status int
}

// table lists the endpoints served for now; every other path or method
// answers 404 "url is invalid".
func (s *Server) table() []route {
	r := func(method, pattern string, a access, bucket string, h func(*call) error) route {
		return route{method, strings.Split(strings.Trim(pattern, "/"), "/"), a, bucket, h}
	}
	routes := []route{
		r("GET", "/healthz", accessNone, "", handleHealth),
		r("GET", "/readyz", accessNone, "", handleReady),
		r("POST", "/management/orgs/{org}/apps", accessBootstrap, "", handleCreateApp),
		r("POST", "/{org}/{app}/token", accessNone, "", handleToken),
		r("POST", "/{org}/{app}/push/notifiers", accessApp, "", handleCreateNotifier),
		r("GET", "/{org}/{app}/push/notifiers", accessApp, "", handleListNotifiers),
		r("GET", "/{org}/{app}/push/notifiers/{name}", accessApp, "", handleGetNotifier),
		r("PUT", "/{org}/{app}/push/notifiers/{name}", accessApp, "", handleUpdateNotifier),
		r("DELETE", "/{org}/{app}/push/notifiers/{name}", accessApp, "",
			handleDeleteNotifier),
		r("PUT", "/{org}/{app}/users/{u}/push/binding", accessUser, "user", handlePutBinding),
		r("GET", "/{org}/{app}/users/{u}/push/binding", accessUser, "user", handleGetBindings),
		r("PUT", "/{org}/{app}/users/{u}/presence/{device_id}", accessApp, "",
			handlePresence),
		r("GET", "/{org}/{app}/users/{u}/offline_msg_count", accessUser, "user",
			handleOfflineCount),
		r("POST", "/{org}/{app}/push/messages", accessApp, "", handlePushMessage),
		r("GET", "/{org}/{app}/push/data/offline-push/begin/{begin}/end/{end}", accessApp, "",
			handleStatistics), // rate-limited inside, after the feature check
		r("POST", "/{org}/{app}/push/preview", accessApp, "", handlePreview),
	}
	routes = append(routes, settingsRoutes(r)...)
	routes = append(routes, adminRoutes(r)...)
	return routes
}

// routeFunc builds one route of the table.
type routeFunc func(method, pattern string, a access, bucket string, h func(*call) error) route

// settingsRoutes are the endpoints of the user and app settings (SPEC.md
// §5, §6, §8, §9, §11.4, §11.6).
func settingsRoutes(r routeFunc) []route {
	const u = "/{org}/{app}/users/{u}"
	return []route{
		r("PUT", u+"/notification/{chattype}/{key}", accessUser, "settings", handlePutSetting),
		r("GET", u+"/notification/{chattype}/{key}", accessUser, "settings", handleGetSetting),
		r("GET", u+"/notification", accessUser, "settings", handleGetConversations),
		r("GET", u+"/notification/conversations", accessUser, "settings",
			handleListConversations),
		r("PUT", u+"/notification/language", accessUser, "settings", handlePutLanguage),
		r("GET", u+"/notification/language", accessUser, "settings", handleGetLanguage),
		r("PUT", u+"/notification/timezone", accessUser, "settings", handlePutTimezone),
		r("GET", u+"/notification/timezone", accessUser, "settings", handleGetTimezone),
		r("PUT", u+"/notification/template", accessOwnUser, "settings",
			handlePutReceiverTemplate),
		r("GET", u+"/notification/template", accessOwnUser, "settings",
			handleGetReceiverTemplate),
		r("PUT", u, accessUser, "user", handlePutUser),
		r("GET", u, accessUser, "user", handleGetUser),
		r("PUT", "/{org}/{app}/push/nickname", accessApp, "settings", handlePutNicknames),
		r("POST", "/{org}/{app}/notification/template", accessApp, "templates",
			handleCreateTemplate),
		r("GET", "/{org}/{app}/notification/template/{name}", accessApp, "templates",
			handleGetTemplate),
		r("PUT", "/{org}/{app}/notification/template/{name}", accessApp, "templates",
			handleUpdateTemplate),
		r("DELETE", "/{org}/{app}/notification/template/{name}", accessApp, "templates",
			handleDeleteTemplate),
		r("PUT", "/{org}/{app}/push/config", accessApp, "", handlePutConfig),
		r("GET", "/{org}/{app}/push/config", accessApp, "", handleGetConfig),
	}
}

// ServeHTTP runs the checks of §11.1 in order: route (404),
// authentication (401), app scope and permission (403), rate limit (429);
// the handler then validates (400) and acts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, w: w, r: r, start: s.opts.Now()}
	defer c.logDone()
	rt, ok := s.match(c)
	if !ok {
		c.fail(errNotFound())
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	c.ctx = ctx
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)

	if err := c.authorize(rt.access); err != nil {
		c.fail(err)
		return
	}
	if rt.bucket != "" && s.opts.Limiter != nil && !s.opts.Limiter.Allow(c.app, rt.bucket) {
		c.fail(errRateLimited())
		return
	}
	if err := rt.handle(c); err != nil {
		c.fail(err)
	}
}

// logDone logs one line per request at debug level. It never logs the
// Authorization header or the body, which may hold credentials.
func (c *call) logDone() {
	c.s.log.Debug("rest request", "method", c.r.Method, "path", c.r.URL.EscapedPath(),
		"status", c.status, "ms", c.s.opts.Now().Sub(c.start).Milliseconds())
}

// match finds the route of r and fills the call's parameters. Segments are
// split on the escaped path, so an encoded "/" stays inside a user id.
func (s *Server) match(c *call) (route, bool) {
	segs := strings.Split(strings.TrimPrefix(c.r.URL.EscapedPath(), "/"), "/")
	for _, rt := range s.routes {
		if rt.method != c.r.Method || len(rt.pattern) != len(segs) {
			continue
		}
		params, ok := bind(rt.pattern, segs)
		if !ok {
			continue
		}
		c.params = params
		c.path = c.r.URL.EscapedPath()
		if rt.pattern[0] == "{org}" {
			c.appKey = params["org"] + "#" + params["app"]
			c.path = "/" + strings.Join(segs[2:], "/")
		}
		if u, ok := params["u"]; ok {
			// User ids are case-insensitive (§1).
			c.params["u"] = strings.ToLower(u)
		}
		return rt, true
	}
	return route{}, false
}

// bind matches segs against pattern, returning the decoded parameters.
func bind(pattern, segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, p := range pattern {
		if !strings.HasPrefix(p, "{") {
			if segs[i] != p {
				return nil, false
			}
			continue
		}
		v, err := url.PathUnescape(segs[i])
		if err != nil || v == "" {
			return nil, false
		}
		params[strings.Trim(p, "{}")] = v
	}
	return params, true
}

// decode reads the JSON request body into v and returns the raw bytes.
// A field of the wrong JSON type is reported by its name, anything
// unparsable (or a body that is not an object) as "body".
func (c *call) decode(v any) ([]byte, error) {
	raw, err := io.ReadAll(c.r.Body)
	if err != nil {
		return nil, errInvalid("body")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, errInvalid(te.Field)
		}
		return nil, errInvalid("body")
	}
	return raw, nil
}

func handleHealth(c *call) error {
	c.writeJSON(http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func handleReady(c *call) error {
	if missing := c.s.opts.Backend.Ready(); missing != "" {
		c.writeJSON(http.StatusServiceUnavailable, map[string]string{"status": missing})
		return nil
	}
	c.writeJSON(http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
