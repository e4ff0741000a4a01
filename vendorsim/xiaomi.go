package vendorsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// VendorXiaomi is the MiPush emulator's name, as in records, endpoints
// and fault sets.
const VendorXiaomi = "xiaomi"

// MiPush paths (VENDORS.md §2.5), both on the one listener.
const (
	xiaomiSendPath     = "/v3/message/regid"
	xiaomiFeedbackPath = "/v1/feedback/fetch_invalid_regids"
)

// MiPush codes. Treat as: 21301 a wrong app secret, 21305 any refused
// field (the emulator's reason names it), 10002 a server error.
const (
	xiaomiCodeOK       = 0
	xiaomiCodeBadAuth  = 21301
	xiaomiCodeBadParam = 21305
	xiaomiCodeBusy     = 10002
)

// MiPush limits (VENDORS.md §2.5).
const (
	xiaomiMaxBody       = 64 << 10
	xiaomiMaxTokens     = 1000
	xiaomiMaxTitle      = 49 // "< 50 chars"
	xiaomiMaxDesc       = 127
	xiaomiMaxPayload    = 4096
	xiaomiMaxTTL        = 14 * 24 * 3600 * 1000 // ms
	xiaomiFeedbackBatch = 1000
	// xiaomiDeadLimit bounds each app's queue of dead regIds waiting for
	// the feedback API; beyond it new ones are dropped.
	xiaomiDeadLimit = 100000
)

func init() {
	RegisterVendor(VendorSpec{
		Name: VendorXiaomi, HTTP1: true, MaxStreams: 1000,
		Hosts: []string{"api.xmpush.xiaomi.com", "api.xmpush.global.xiaomi.com",
			"feedback.xmpush.xiaomi.com"},
		LoadCreds: loadXiaomiCreds,
		NewHandler: func(env *VendorEnv, creds any) (http.Handler, error) {
			return newXiaomiServer(env, creds.(xiaomiSection)), nil
		},
		GenCreds: genXiaomiCreds,
	})
}

// xiaomiSection is the vendorsim.yaml section: the apps MiPush knows.
type xiaomiSection struct {
	Apps []xiaomiApp `yaml:"apps"`
}

type xiaomiApp struct {
	AppSecret   string `yaml:"app_secret"`
	PackageName string `yaml:"package_name"`
	// ChannelID is what GenCreds gave the notifier; MiPush does not check
	// channels, so the emulator only carries it along.
	ChannelID string `yaml:"channel_id,omitempty"`
}

func loadXiaomiCreds(node *yaml.Node) (any, error) {
	var sec xiaomiSection
	if node != nil {
		if err := node.Decode(&sec); err != nil {
			return nil, fmt.Errorf("xiaomi: %w", err)
		}
	}
	seen := map[string]bool{}
	for i, a := range sec.Apps {
		switch {
		case a.AppSecret == "":
			return nil, fmt.Errorf("xiaomi.apps[%d].app_secret: empty", i)
		case a.PackageName == "":
			return nil, fmt.Errorf("xiaomi.apps[%d].package_name: empty", i)
		case seen[a.AppSecret]:
			return nil, fmt.Errorf("xiaomi.apps[%d].app_secret: duplicate", i)
		}
		seen[a.AppSecret] = true
	}
	return sec, nil
}

func genXiaomiCreds(string) (GeneratedCreds, error) {
	app := xiaomiApp{
		AppSecret:   randomID(24),
		PackageName: "im.herald.demo",
		ChannelID:   "herald_im",
	}
	return GeneratedCreds{
		Section: xiaomiSection{Apps: []xiaomiApp{app}},
		Fields: map[string]string{"app_secret": app.AppSecret,
			"package_name": app.PackageName, "channel_id": app.ChannelID},
	}, nil
}

// xiaomiAnswer is what the emulator decided to answer a send.
type xiaomiAnswer struct {
	hang       bool          // never answer
	delay      time.Duration // before answering (slow tokens)
	status     int
	code       int
	reason     string
	retryAfter bool
	outcome    string
}

// xiaomiMagic: dead regIds are accepted (and listed later by the feedback
// API); baddev is as dead.
var xiaomiMagic = MagicAnswers[xiaomiAnswer]{
	Dead:     xiaomiAnswer{status: 200, outcome: OutcomeDelivered},
	BadDev:   xiaomiAnswer{status: 200, outcome: OutcomeDelivered},
	Throttle: xiaomiAnswer{status: 429, retryAfter: true, outcome: OutcomeThrottled},
	Fail:     xiaomiAnswer{status: 500, code: xiaomiCodeBusy, outcome: OutcomeRetryable},
	Flaky: xiaomiAnswer{status: 503, code: xiaomiCodeBusy, retryAfter: true,
		outcome: OutcomeRetryable},
}

// xiaomiServer answers MiPush sends and feedback polls.
type xiaomiServer struct {
	env  *VendorEnv
	apps map[string]xiaomiApp // by app secret

	mu   sync.Mutex
	dead map[string]*xiaomiDeadQueue // by package name; guarded by mu
}

// xiaomiDeadQueue holds an app's dead regIds in arrival order, each once.
type xiaomiDeadQueue struct {
	order []string
	set   map[string]bool
}

func newXiaomiServer(env *VendorEnv, sec xiaomiSection) *xiaomiServer {
	s := &xiaomiServer{env: env, apps: map[string]xiaomiApp{}, dead: map[string]*xiaomiDeadQueue{}}
	for _, a := range sec.Apps {
		s.apps[a.AppSecret] = a
	}
	return s
}

// Reset empties the feedback queues.
func (s *xiaomiServer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.dead)
}

func (s *xiaomiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == xiaomiSendPath && r.Method == http.MethodPost:
		s.send(w, r)
	case r.URL.Path == xiaomiFeedbackPath && r.Method == http.MethodGet:
		s.feedback(w, r)
	default:
		WriteJSON(w, http.StatusNotFound, xiaomiError(404, "no such path"))
	}
}

// maskXiaomiKey hides the app secret in the recorded Authorization:
// "key=<secret>" has no space for RecordHeaders to mask after.
func maskXiaomiKey(x *Exchange) {
	if _, ok := x.Record.Headers["authorization"]; ok {
		x.Record.Headers["authorization"] = "key=***"
	}
}

// app finds the app of the Authorization header, "key=<app_secret>".
func (s *xiaomiServer) app(r *http.Request) (xiaomiApp, bool) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "key=")
	if !ok {
		return xiaomiApp{}, false
	}
	a, ok := s.apps[secret]
	return a, ok
}

func (s *xiaomiServer) send(w http.ResponseWriter, r *http.Request) {
	x := s.env.Begin(r)
	maskXiaomiKey(x)
	body, err := ReadBody(r, xiaomiMaxBody)
	var form url.Values
	if err == nil {
		form, err = ParseForm(body)
	}
	if err != nil {
		x.Record.Payload = RecordPayload(body)
		x.Finish(http.StatusBadRequest, strconv.Itoa(xiaomiCodeBadParam), OutcomePayloadError)
		WriteJSON(w, http.StatusBadRequest, xiaomiError(xiaomiCodeBadParam, err.Error()))
		return
	}
	x.Record.Payload = RecordForm(form)
	tokens := strings.Split(form.Get("registration_id"), ",")
	x.Record.Token = form.Get("registration_id")
	x.Record.Attempt = s.env.Attempts().Next(x.Record.Token, x.Record.Payload)

	ans, app := s.decide(r, form, tokens, x)
	if ans.hang || !x.Delay(r.Context(), ans.delay) {
		x.Hang(r.Context())
		x.Finish(0, "NO_ANSWER", OutcomeRetryable)
		panic(http.ErrAbortHandler)
	}
	if ans.status == http.StatusOK && ans.code == xiaomiCodeOK {
		s.queueDead(app.PackageName, tokens)
	}
	x.Finish(ans.status, strconv.Itoa(ans.code), ans.outcome)
	if ans.retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	if ans.status == http.StatusOK && ans.code == xiaomiCodeOK {
		WriteJSON(w, http.StatusOK, map[string]any{
			"result": "ok", "code": 0, "trace_id": randomID(16),
			"data":        map[string]string{"id": "xm" + randomID(20)},
			"description": "成功", "info": fmt.Sprintf("Received push messages for %d REGID",
				len(tokens)),
		})
		return
	}
	WriteJSON(w, ans.status, xiaomiError(ans.code, ans.reason))
}

// decide checks a send in MiPush order: the key, injected faults, magic
// regIds, then the fields.
func (s *xiaomiServer) decide(r *http.Request, form url.Values, tokens []string,
	x *Exchange) (xiaomiAnswer, xiaomiApp) {

	app, ok := s.app(r)
	if !ok {
		return xiaomiAnswer{status: http.StatusUnauthorized, code: xiaomiCodeBadAuth,
			reason: "Invalid application secret", outcome: OutcomeCredentialError}, app
	}
	x.Record.App = app.PackageName
	x.Record.Auth = RecordAuth{Scheme: "key", Subject: app.PackageName}

	switch x.Fault.ErrorKind {
	case ErrorKindTransient:
		return xiaomiMagic.Flaky, app
	case ErrorKindThrottle:
		return xiaomiMagic.Throttle, app
	}
	m := xiaomiMagic.Match(tokens[0], x.Record.Attempt)
	switch {
	case m.Hang:
		return xiaomiAnswer{hang: true}, app
	case m.Scripted:
		return m.Answer, app
	}
	if reason := xiaomiCheck(form, tokens, app); reason != "" {
		return xiaomiAnswer{status: http.StatusOK, code: xiaomiCodeBadParam, reason: reason,
			outcome: OutcomePayloadError, delay: m.Delay}, app
	}
	return xiaomiAnswer{status: http.StatusOK, outcome: OutcomeDelivered, delay: m.Delay}, app
}

// xiaomiCheck gives the reason a send's fields are refused, "" if none.
func xiaomiCheck(f url.Values, tokens []string, app xiaomiApp) string {
	if len(tokens) > xiaomiMaxTokens {
		return "registration_id: more than 1000 regIds"
	}
	for _, t := range tokens {
		if t == "" {
			return "registration_id: empty regId"
		}
	}
	if f.Get("restricted_package_name") != app.PackageName {
		return "restricted_package_name: not this app's package"
	}
	pass := f.Get("pass_through")
	if pass != "" && pass != "0" && pass != "1" {
		return "pass_through: must be 0 or 1"
	}
	if pass != "1" {
		if n := utf8.RuneCountInString(f.Get("title")); n == 0 || n > xiaomiMaxTitle {
			return "title: empty or 50 characters or more"
		}
		if n := utf8.RuneCountInString(f.Get("description")); n == 0 || n > xiaomiMaxDesc {
			return "description: empty or 128 characters or more"
		}
	}
	if len(f.Get("payload")) > xiaomiMaxPayload {
		return "payload: over 4 KB"
	}
	checks := []struct {
		field    string
		min, max int64
	}{
		{"notify_type", -1, 7}, {"notify_id", 0, 1<<31 - 1},
		{"time_to_live", 0, xiaomiMaxTTL}, {"extra.notify_effect", 1, 3},
	}
	for _, c := range checks {
		if !xiaomiIntIn(f, c.field, c.min, c.max) {
			return c.field + ": not an integer in range"
		}
	}
	switch f.Get("extra.notify_effect") {
	case "2":
		if f.Get("extra.intent_uri") == "" {
			return "extra.intent_uri: required by notify_effect 2"
		}
	case "3":
		if !strings.HasPrefix(f.Get("extra.web_uri"), "http") {
			return "extra.web_uri: an http(s) URL is required by notify_effect 3"
		}
	}
	return ""
}

// xiaomiIntIn: an absent field passes; a present one must be an integer
// within [min, max].
func xiaomiIntIn(f url.Values, field string, min, max int64) bool {
	if !f.Has(field) {
		return true
	}
	n, err := strconv.ParseInt(f.Get(field), 10, 64)
	return err == nil && n >= min && n <= max
}

// queueDead remembers the dead and baddev regIds of an accepted send for
// the feedback API, each once.
func (s *xiaomiServer) queueDead(pkg string, tokens []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tokens {
		if m := MagicOf(t); m != MagicDead && m != MagicBadDev {
			continue
		}
		q := s.dead[pkg]
		if q == nil {
			q = &xiaomiDeadQueue{set: map[string]bool{}}
			s.dead[pkg] = q
		}
		if q.set[t] || len(q.order) >= xiaomiDeadLimit {
			continue
		}
		q.set[t] = true
		q.order = append(q.order, t)
	}
}

// takeDead hands out up to xiaomiFeedbackBatch dead regIds of pkg, each
// once.
func (s *xiaomiServer) takeDead(pkg string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.dead[pkg]
	if q == nil {
		return []string{}
	}
	n := min(len(q.order), xiaomiFeedbackBatch)
	out := append([]string{}, q.order[:n]...)
	q.order = q.order[n:]
	for _, t := range out {
		delete(q.set, t)
	}
	return out
}

func (s *xiaomiServer) feedback(w http.ResponseWriter, r *http.Request) {
	x := s.env.Begin(r)
	maskXiaomiKey(x)
	app, ok := s.app(r)
	if !ok {
		x.Finish(http.StatusUnauthorized, strconv.Itoa(xiaomiCodeBadAuth),
			OutcomeCredentialError)
		WriteJSON(w, http.StatusUnauthorized,
			xiaomiError(xiaomiCodeBadAuth, "Invalid application secret"))
		return
	}
	x.Record.App = app.PackageName
	x.Record.Auth = RecordAuth{Scheme: "key", Subject: app.PackageName}

	list := s.takeDead(app.PackageName)
	outcome := OutcomeDelivered
	if len(list) > 0 {
		outcome = OutcomeTokenInvalid
	}
	data := map[string]any{"list": list}
	raw, _ := json.Marshal(data)
	x.Record.Payload = RecordPayload(raw)
	x.Finish(http.StatusOK, "0", outcome)
	WriteJSON(w, http.StatusOK, map[string]any{"result": "ok", "code": 0, "data": data})
}

func xiaomiError(code int, reason string) map[string]any {
	return map[string]any{"result": "error", "code": code, "reason": reason,
		"description": reason}
}
