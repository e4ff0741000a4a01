package vendorsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// VendorOPPO is the OPPO Push emulator's name, as in records, endpoints
// and fault sets.
const VendorOPPO = "oppo"

// OPPO paths (VENDORS.md §2.6), all on the one listener.
const (
	oppoAuthPath    = "/server/v1/auth"
	oppoUnicastPath = "/server/v1/message/notification/unicast"
	oppoBatchPath   = "/server/v1/message/notification/unicast_batch"
)

// OPPO codes of §1.8 and §4. The field refusals are "treat as": OPPO
// documents the ranges, the emulator picks one per field.
const (
	oppoOK           = 0
	oppoBusy         = -1
	oppoOverLimit    = -2
	oppoBadAuthToken = 11
	oppoBadParam     = 12 // unreadable form or message
	oppoBadAppKey    = 14
	oppoBadSign      = 16
	oppoBadTimestamp = 19
	oppoBadTarget    = 20
	oppoBadTitle     = 21
	oppoBadContent   = 22
	oppoBadClick     = 23
	oppoBadOffline   = 24
	oppoBadLevel     = 25 // notify_level, or one without a category
	oppoBadStyle     = 31
	oppoBadParams    = 32 // action_parameters not a JSON object
	oppoDailyCap     = 33
	oppoInvalidRegID = 10000
)

// OPPO limits (VENDORS.md §2.6).
const (
	oppoMaxBody       = 1 << 20
	oppoMaxBatch      = 1000
	oppoMaxTitle      = 50
	oppoMaxContent    = 200
	oppoMaxOfflineTTL = 864000
	oppoClockSkew     = 10 * time.Minute
	oppoTokenTTL      = 24 * time.Hour
)

// oppoDay is the zone OPPO's daily quota rolls over in (UTC+8, no DST).
var oppoDay = time.FixedZone("Asia/Shanghai", 8*3600)

func init() {
	RegisterVendor(VendorSpec{
		Name: VendorOPPO, HTTP1: true, MaxStreams: 1000,
		Hosts:     []string{"api.push.oppomobile.com", "api-intl.push.oppomobile.com"},
		LoadCreds: loadOPPOCreds,
		NewHandler: func(env *VendorEnv, creds any) (http.Handler, error) {
			return newOPPOServer(env, creds.(oppoSection)), nil
		},
		GenCreds: genOPPOCreds,
	})
}

// oppoSection is the vendorsim.yaml section.
type oppoSection struct {
	Apps []oppoApp `yaml:"apps"`
	// TokenTTL is the auth_token lifetime; 0 is OPPO's 24 h.
	TokenTTL Duration `yaml:"token_ttl,omitempty"`
}

type oppoApp struct {
	AppKey       string `yaml:"app_key"`
	MasterSecret string `yaml:"master_secret"`
	PackageName  string `yaml:"package_name"`
	// DailyQuota is how many pushes a day the app may send before code
	// 33; 0 is unlimited.
	DailyQuota int `yaml:"daily_quota,omitempty"`
}

func loadOPPOCreds(node *yaml.Node) (any, error) {
	var sec oppoSection
	if node != nil {
		if err := node.Decode(&sec); err != nil {
			return nil, fmt.Errorf("oppo: %w", err)
		}
	}
	seen := map[string]bool{}
	for i, a := range sec.Apps {
		switch {
		case a.AppKey == "" || seen[a.AppKey]:
			return nil, fmt.Errorf("oppo.apps[%d].app_key: empty or duplicate", i)
		case a.MasterSecret == "":
			return nil, fmt.Errorf("oppo.apps[%d].master_secret: empty", i)
		case a.PackageName == "":
			return nil, fmt.Errorf("oppo.apps[%d].package_name: empty", i)
		case a.DailyQuota < 0:
			return nil, fmt.Errorf("oppo.apps[%d].daily_quota: negative", i)
		}
		seen[a.AppKey] = true
	}
	if sec.TokenTTL < 0 {
		return nil, fmt.Errorf("oppo.token_ttl: negative")
	}
	return sec, nil
}

func genOPPOCreds(string) (GeneratedCreds, error) {
	app := oppoApp{AppKey: randomID(24), MasterSecret: randomID(32),
		PackageName: "im.herald.demo"}
	return GeneratedCreds{
		Section: oppoSection{Apps: []oppoApp{app}},
		Fields: map[string]string{"app_key": app.AppKey, "master_secret": app.MasterSecret,
			"package_name": app.PackageName},
	}, nil
}

// oppoAnswer is one code with the class it is meant to produce.
type oppoAnswer struct {
	code    int
	message string
	outcome string
}

var oppoMagic = MagicAnswers[oppoAnswer]{
	Dead:     oppoAnswer{oppoInvalidRegID, "Invalid RegistrationId", OutcomeTokenInvalid},
	BadDev:   oppoAnswer{oppoInvalidRegID, "Invalid RegistrationId", OutcomeTokenInvalid},
	Throttle: oppoAnswer{oppoOverLimit, "Over The Limit", OutcomeThrottled},
	Fail:     oppoAnswer{oppoBusy, "Service Busy", OutcomeRetryable},
	Flaky:    oppoAnswer{oppoBusy, "Service Busy", OutcomeRetryable},
}

var oppoOKAnswer = oppoAnswer{oppoOK, "Success", OutcomeDelivered}

// oppoServer answers OPPO's auth, unicast and unicast_batch.
type oppoServer struct {
	env    *VendorEnv
	apps   map[string]oppoApp // by app_key
	tokens *TokenIssuer

	mu   sync.Mutex
	day  string         // the quota day, yyyy-mm-dd in Asia/Shanghai
	sent map[string]int // pushes today by app_key; guarded by mu
}

func newOPPOServer(env *VendorEnv, sec oppoSection) *oppoServer {
	ttl := time.Duration(sec.TokenTTL)
	if ttl == 0 {
		ttl = oppoTokenTTL
	}
	s := &oppoServer{env: env, apps: map[string]oppoApp{}, tokens: env.NewTokenIssuer(ttl),
		sent: map[string]int{}}
	for _, a := range sec.Apps {
		s.apps[a.AppKey] = a
	}
	return s
}

// Reset forgets the daily quota counts.
func (s *oppoServer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sent)
}

// ExpireTokens makes every issued auth_token expired, for tests.
func (s *oppoServer) ExpireTokens() { s.tokens.ExpireAll() }

func (s *oppoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		WriteJSON(w, http.StatusMethodNotAllowed, oppoReply(oppoBadParam, "POST only", nil))
		return
	}
	switch r.URL.Path {
	case oppoAuthPath:
		s.auth(w, r)
	case oppoUnicastPath:
		s.push(w, r, false)
	case oppoBatchPath:
		s.push(w, r, true)
	default:
		WriteJSON(w, http.StatusNotFound, oppoReply(oppoBadParam, "no such path", nil))
	}
}

// auth checks app_key, timestamp and sign in that order and issues an
// auth_token (VENDORS.md §4).
func (s *oppoServer) auth(w http.ResponseWriter, r *http.Request) {
	s.env.CountTokenFetch()
	body, err := ReadBody(r, 4096)
	var form url.Values
	if err == nil {
		form, err = ParseForm(body)
	}
	if err != nil {
		WriteJSON(w, http.StatusOK, oppoReply(oppoBadParam, "bad form", nil))
		return
	}

	app, ok := s.apps[form.Get("app_key")]
	if !ok {
		WriteJSON(w, http.StatusOK, oppoReply(oppoBadAppKey, "Invalid AppKey", nil))
		return
	}
	ts, err := strconv.ParseInt(form.Get("timestamp"), 10, 64)
	skew := s.env.Now().Sub(time.UnixMilli(ts))
	if err != nil || skew > oppoClockSkew || skew < -oppoClockSkew {
		WriteJSON(w, http.StatusOK, oppoReply(oppoBadTimestamp, "Invalid Timestamp", nil))
		return
	}
	if form.Get("sign") != oppoSign(app.AppKey, form.Get("timestamp"), app.MasterSecret) {
		WriteJSON(w, http.StatusOK, oppoReply(oppoBadSign, "Invalid Sign", nil))
		return
	}

	tok, _ := s.tokens.Issue(app.AppKey)
	WriteJSON(w, http.StatusOK, oppoReply(oppoOK, "Success", map[string]any{
		"auth_token": tok, "create_time": s.env.Now().UnixMilli()}))
}

// oppoSign is lowercase hex SHA-256 of app_key + timestamp + master_secret.
func oppoSign(appKey, ts, secret string) string {
	sum := sha256.Sum256([]byte(appKey + ts + secret))
	return hex.EncodeToString(sum[:])
}

// push answers unicast (one message) and unicast_batch (a list).
func (s *oppoServer) push(w http.ResponseWriter, r *http.Request, batch bool) {
	x := s.env.Begin(r)
	if _, ok := x.Record.Headers["auth_token"]; ok {
		x.Record.Headers["auth_token"] = "***" // a credential, never recorded
	}
	body, err := ReadBody(r, oppoMaxBody)
	var form url.Values
	if err == nil {
		form, err = ParseForm(body)
	}
	if err != nil {
		x.Record.Payload = RecordPayload(body)
		s.finish(w, x, oppoAnswer{oppoBadParam, "bad form", OutcomePayloadError}, nil)
		return
	}
	x.Record.Payload = RecordForm(form, "auth_token")
	msgs, bad := oppoMessages(form, batch)
	tokens := make([]string, len(msgs))
	for i, m := range msgs {
		tokens[i] = m.str("target_value", "targetValue")
	}
	x.Record.Token = strings.Join(tokens, ",")
	x.Record.Attempt = s.env.Attempts().Next(x.Record.Token, x.Record.Payload)

	// The token in the form wins; the header carries the same.
	tok := form.Get("auth_token")
	if tok == "" {
		tok = r.Header.Get("auth_token")
	}
	appKey, state := s.tokens.Check(tok)
	if state != TokenValid {
		s.finish(w, x, oppoAnswer{oppoBadAuthToken, "Invalid AuthToken",
			OutcomeCredentialError}, nil)
		return
	}
	app := s.apps[appKey]
	x.Record.App = app.PackageName
	x.Record.Auth = RecordAuth{Scheme: "auth_token", Subject: app.PackageName}
	if bad != nil {
		s.finish(w, x, *bad, nil)
		return
	}

	switch x.Fault.ErrorKind {
	case ErrorKindTransient:
		s.finish(w, x, oppoMagic.Fail, nil)
		return
	case ErrorKindThrottle:
		s.finish(w, x, oppoMagic.Throttle, nil)
		return
	}
	if batch {
		s.answerBatch(w, r, x, app, msgs)
		return
	}
	s.answerUnicast(w, r, x, app, msgs[0])
}

func (s *oppoServer) answerUnicast(w http.ResponseWriter, r *http.Request, x *Exchange,
	app oppoApp, m oppoMessage) {

	ans, hang, delay := s.decide(app, m, x.Record.Attempt)
	if hang || !x.Delay(r.Context(), delay) {
		x.Hang(r.Context())
		x.Finish(0, "NO_ANSWER", OutcomeRetryable)
		panic(http.ErrAbortHandler)
	}
	var data any
	if ans.code == oppoOK {
		data = map[string]string{"messageId": oppoMessageID()}
	}
	s.finish(w, x, ans, data)
}

// answerBatch answers each message on its own, as OPPO does: the request
// succeeds and data lists an errorCode per refused regId. The record's
// outcome is the first refusal's, else delivered.
func (s *oppoServer) answerBatch(w http.ResponseWriter, r *http.Request, x *Exchange,
	app oppoApp, msgs []oppoMessage) {

	overall := oppoOKAnswer
	list := make([]map[string]any, 0, len(msgs))
	var wait time.Duration
	for _, m := range msgs {
		ans, hang, delay := s.decide(app, m, x.Record.Attempt)
		if hang {
			delay = max(delay, SlowDelay) // a batch never hangs on one regId
		}
		wait = max(wait, delay)
		item := map[string]any{"messageId": oppoMessageID(),
			"registrationId": m.str("target_value", "targetValue")}
		if ans.code != oppoOK {
			item["errorCode"], item["errorMessage"] = ans.code, ans.message
			if overall.code == oppoOK {
				overall = ans
			}
		}
		list = append(list, item)
	}
	if !x.Delay(r.Context(), wait) {
		x.Finish(0, "NO_ANSWER", OutcomeRetryable)
		panic(http.ErrAbortHandler)
	}
	x.Finish(http.StatusOK, strconv.Itoa(overall.code), overall.outcome)
	WriteJSON(w, http.StatusOK, oppoReply(oppoOK, "Success", list))
}

// decide answers one message: magic regIds first, then the fields, then
// the daily quota.
func (s *oppoServer) decide(app oppoApp, m oppoMessage,
	attempt int) (ans oppoAnswer, hang bool, delay time.Duration) {

	mm := oppoMagic.Match(m.str("target_value", "targetValue"), attempt)
	switch {
	case mm.Hang:
		return oppoAnswer{}, true, 0
	case mm.Scripted:
		return mm.Answer, false, 0
	}
	if code, msg := oppoCheck(m); code != oppoOK {
		return oppoAnswer{code, msg, OutcomePayloadError}, false, mm.Delay
	}
	if !s.takeQuota(app) {
		return oppoAnswer{oppoDailyCap, "Exceed Daily Limit", OutcomeThrottled}, false,
			mm.Delay
	}
	return oppoOKAnswer, false, mm.Delay
}

// takeQuota counts one push against the app's daily quota and reports
// whether it was within it.
func (s *oppoServer) takeQuota(app oppoApp) bool {
	if app.DailyQuota == 0 {
		return true
	}
	day := s.env.Now().In(oppoDay).Format(time.DateOnly)
	s.mu.Lock()
	defer s.mu.Unlock()
	if day != s.day {
		s.day = day
		clear(s.sent)
	}
	if s.sent[app.AppKey] >= app.DailyQuota {
		return false
	}
	s.sent[app.AppKey]++
	return true
}

func (s *oppoServer) finish(w http.ResponseWriter, x *Exchange, ans oppoAnswer, data any) {
	x.Finish(http.StatusOK, strconv.Itoa(ans.code), ans.outcome)
	WriteJSON(w, http.StatusOK, oppoReply(ans.code, ans.message, data))
}

func oppoReply(code int, message string, data any) map[string]any {
	out := map[string]any{"code": code, "message": message}
	if data != nil {
		out["data"] = data
	}
	return out
}

func oppoMessageID() string { return "0" + randomID(7) + "-" + randomID(22) }

// oppoMessage is one decoded message; OPPO takes snake_case and camelCase
// names alike.
type oppoMessage map[string]any

func (m oppoMessage) get(names ...string) (any, bool) {
	for _, n := range names {
		if v, ok := m[n]; ok {
			return v, true
		}
	}
	return nil, false
}

func (m oppoMessage) str(names ...string) string {
	v, _ := m.get(names...)
	s, _ := v.(string)
	return s
}

// oppoMessages decodes the `message` (unicast) or `messages` (batch) field.
// A refusal of the whole request comes back as the answer.
func oppoMessages(form url.Values, batch bool) ([]oppoMessage, *oppoAnswer) {
	bad := &oppoAnswer{oppoBadParam, "Invalid Message", OutcomePayloadError}
	if !batch {
		var m oppoMessage
		if DecodeJSON([]byte(form.Get("message")), &m) != nil || m == nil {
			return []oppoMessage{{}}, bad
		}
		return []oppoMessage{m}, nil
	}
	var list []oppoMessage
	if DecodeJSON([]byte(form.Get("messages")), &list) != nil || len(list) == 0 ||
		len(list) > oppoMaxBatch {
		return nil, bad
	}
	for i, m := range list {
		if m == nil {
			list[i] = oppoMessage{}
			return list, bad
		}
	}
	return list, nil
}

// oppoCheck checks one message's fields as OPPO does, returning the code
// and message of the first refusal or oppoOK.
func oppoCheck(m oppoMessage) (int, string) {
	tt, _ := m.get("target_type", "targetType")
	if n, ok := tt.(float64); !ok || (n != 2 && n != 5) {
		return oppoBadTarget, "Invalid target_type"
	}
	if m.str("target_value", "targetValue") == "" {
		return oppoBadTarget, "Invalid target_value"
	}
	raw, _ := m.get("notification")
	note, ok := raw.(map[string]any)
	if !ok {
		return oppoBadParam, "notification required"
	}
	n := oppoMessage(note)

	title, content := n.str("title"), n.str("content")
	if title == "" || len([]rune(title)) > oppoMaxTitle {
		return oppoBadTitle, "Invalid title"
	}
	if content == "" || len([]rune(content)) > oppoMaxContent {
		return oppoBadContent, "Invalid content"
	}
	if style, ok := n.get("style"); ok && !oppoOneOf(style, 1, 2, 3) {
		return oppoBadStyle, "Invalid style"
	}
	if code, msg := oppoCheckClick(n); code != oppoOK {
		return code, msg
	}
	if ttl, ok := n.get("off_line_ttl", "offLineTtl"); ok {
		if v, isNum := ttl.(float64); !isNum || v < 0 || v > oppoMaxOfflineTTL {
			return oppoBadOffline, "Invalid off_line_ttl"
		}
	}
	if lvl, ok := n.get("notify_level", "notifyLevel"); ok {
		if !oppoOneOf(lvl, 1, 2, 16) || n.str("category") == "" {
			return oppoBadLevel, "Invalid notify_level"
		}
	}
	return oppoOK, ""
}

// oppoCheckClick checks the click action and its parameters: type 4 needs
// an activity, parameters must be a JSON object's text.
func oppoCheckClick(n oppoMessage) (int, string) {
	click, ok := n.get("click_action_type", "clickActionType")
	if ok && !oppoOneOf(click, 0, 1, 2, 4, 5) {
		return oppoBadClick, "Invalid click_action_type"
	}
	if oppoOneOf(click, 4) && n.str("click_action_activity", "clickActionActivity") == "" {
		return oppoBadClick, "click_action_activity required"
	}
	if p, ok := n.get("action_parameters", "actionParameters"); ok {
		var obj map[string]any
		s, isStr := p.(string)
		if !isStr || DecodeJSON([]byte(s), &obj) != nil || obj == nil {
			return oppoBadParams, "Invalid action_parameters"
		}
	}
	return oppoOK, ""
}

// oppoOneOf reports whether v is a JSON number equal to one of want.
func oppoOneOf(v any, want ...int) bool {
	n, ok := v.(float64)
	if !ok {
		return false
	}
	for _, w := range want {
		if n == float64(w) {
			return true
		}
	}
	return false
}
