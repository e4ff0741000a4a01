package vendorsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// VendorHuawei is the Huawei Push Kit emulator's name, as in records,
// endpoints and fault sets (VENDORS.md §2.3, §4).
const VendorHuawei = "huawei"

// Huawei paths and limits.
const (
	huaweiTokenPath   = "/oauth2/v3/token"
	huaweiSendSuffix  = "/messages:send"
	huaweiMaxBody     = 64 << 10 // read limit; the payload limit is below
	huaweiMaxPayload  = 4096     // bytes of the body without its tokens
	huaweiMaxTokens   = 1000
	huaweiMaxTTLSecs  = 1296000
	huaweiSecretFile  = "huawei.secret"
	huaweiPackageName = "com.example.herald"
)

// Huawei result codes the emulator answers (VENDORS.md §1.8).
const (
	hwSuccess        = "80000000"
	hwPartial        = "80100000"
	hwBadParams      = "80100001"
	hwBadStructure   = "80100003"
	hwBadTTL         = "80100004"
	hwAuthUnknown    = "80200001"
	hwAuthExpired    = "80200003"
	hwNoPermission   = "80300002"
	hwBadToken       = "80300007"
	hwTooLarge       = "80300008"
	hwTooManyTokens  = "80300010"
	hwHighNoCategory = "80300011"
	hwInternal       = "81000001"
	hwFlowControl    = "80100017"
)

func init() {
	RegisterVendor(VendorSpec{
		Name:       VendorHuawei,
		HTTP1:      true,
		MaxStreams: 1000,
		Hosts:      []string{"push-api.cloud.huawei.com", "oauth-login.cloud.huawei.com"},
		LoadCreds:  loadHuaweiCreds,
		NewHandler: newHuaweiServer,
		GenCreds:   genHuaweiCreds,
	})
}

// huaweiSection is the vendorsim.yaml section of huawei.
type huaweiSection struct {
	Apps []huaweiApp `yaml:"apps"`
	// TokenTTL is the access-token lifetime; 0 = DefaultTokenTTL.
	TokenTTL Duration `yaml:"token_ttl,omitempty"`
}

type huaweiApp struct {
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	ProjectID    string `yaml:"project_id"`
	PackageName  string `yaml:"package_name"`
}

// huaweiCreds are the loaded apps by client id and by project id.
type huaweiCreds struct {
	byClient  map[string]huaweiApp
	byProject map[string]huaweiApp
	ttl       time.Duration
}

func loadHuaweiCreds(node *yaml.Node) (any, error) {
	var sec huaweiSection
	if node != nil {
		if err := node.Decode(&sec); err != nil {
			return nil, fmt.Errorf("huawei: %w", err)
		}
	}
	c := &huaweiCreds{byClient: map[string]huaweiApp{}, byProject: map[string]huaweiApp{},
		ttl: time.Duration(sec.TokenTTL)}
	for i, a := range sec.Apps {
		switch {
		case a.ClientID == "" || a.ClientSecret == "" || a.ProjectID == "":
			return nil, fmt.Errorf("huawei.apps[%d]: client_id, client_secret and "+
				"project_id are required", i)
		case c.byClient[a.ClientID].ClientID != "":
			return nil, fmt.Errorf("huawei.apps[%d].client_id: %q listed twice", i, a.ClientID)
		case c.byProject[a.ProjectID].ProjectID != "":
			return nil, fmt.Errorf("huawei.apps[%d].project_id: %q listed twice", i, a.ProjectID)
		}
		c.byClient[a.ClientID] = a
		c.byProject[a.ProjectID] = a
	}
	return c, nil
}

func genHuaweiCreds(dir string) (GeneratedCreds, error) {
	app := huaweiApp{
		ClientID:     "10" + huaweiDigits(7),
		ClientSecret: fmt.Sprintf("%x", randomBytes(32)),
		ProjectID:    "7" + huaweiDigits(17),
		PackageName:  huaweiPackageName,
	}
	file := filepath.Join(dir, huaweiSecretFile)
	if err := os.WriteFile(file, []byte(app.ClientSecret), 0o600); err != nil {
		return GeneratedCreds{}, fmt.Errorf("huawei: write secret: %w", err)
	}
	return GeneratedCreds{
		Section: huaweiSection{Apps: []huaweiApp{app}},
		Fields: map[string]string{"client_id": app.ClientID,
			"client_secret": app.ClientSecret, "project_id": app.ProjectID,
			"package_name": app.PackageName},
	}, nil
}

// huaweiDigits returns n random decimal digits, the shape of Huawei ids.
func huaweiDigits(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// huaweiAnswer is what the emulator decided: HTTP status, result code and
// for 80100000 the tokens it lists.
type huaweiAnswer struct {
	status     int
	code       string
	msg        string
	illegal    []string
	retryAfter bool
}

// huaweiMagic are Huawei's answers to the magic tokens (VENDORS.md §4).
// dead alone gets 80300007; next to good tokens it is listed in 80100000.
var huaweiMagic = MagicAnswers[huaweiAnswer]{
	Dead:     huaweiAnswer{status: 200, code: hwBadToken, msg: "All the tokens are invalid"},
	BadDev:   huaweiAnswer{status: 200, code: hwBadToken, msg: "All the tokens are invalid"},
	Throttle: huaweiAnswer{status: 503, code: hwFlowControl, msg: "flow control", retryAfter: true},
	Fail:     huaweiAnswer{status: 500, code: hwInternal, msg: "System inner error"},
	Flaky: huaweiAnswer{status: 500, code: hwInternal, msg: "System inner error",
		retryAfter: true},
}

// huaweiOutcomes gives the class each answered code is meant to produce.
var huaweiOutcomes = map[string]string{
	hwSuccess:        OutcomeDelivered,
	hwBadToken:       OutcomeTokenInvalid,
	hwInternal:       OutcomeRetryable,
	hwFlowControl:    OutcomeThrottled,
	hwAuthUnknown:    OutcomeCredentialError,
	hwAuthExpired:    OutcomeCredentialError,
	hwNoPermission:   OutcomeCredentialError,
	hwBadParams:      OutcomePayloadError,
	hwBadStructure:   OutcomePayloadError,
	hwBadTTL:         OutcomePayloadError,
	hwTooLarge:       OutcomePayloadError,
	hwTooManyTokens:  OutcomePayloadError,
	hwHighNoCategory: OutcomePayloadError,
}

// huaweiServer answers Huawei's token and send APIs on one listener.
type huaweiServer struct {
	env    *VendorEnv
	creds  *huaweiCreds
	tokens *hwTokens
}

func newHuaweiServer(env *VendorEnv, creds any) (http.Handler, error) {
	c, ok := creds.(*huaweiCreds)
	if !ok {
		return nil, errors.New("huawei: unexpected credentials type")
	}
	return &huaweiServer{env: env, creds: c, tokens: newHWTokens(env, c.ttl)}, nil
}

// huaweiSendPath matches /v2/<project_id>/messages:send and the v1 form
// /v1/<client_id>/messages:send.
var huaweiSendPath = regexp.MustCompile(`^/(v1|v2)/([^/]+)/messages:send$`)

func (hs *huaweiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == huaweiTokenPath {
		hwServeToken(hs.env, hs.tokens, w, r, func(id string) (string, bool) {
			a, ok := hs.creds.byClient[id]
			return a.ClientSecret, ok
		})
		return
	}

	x := hs.env.Begin(r)
	ans, delay := hs.decide(r, x)
	if ans.code == codeHang || !x.Delay(r.Context(), delay) {
		x.Hang(r.Context())
		x.Finish(0, codeHang, OutcomeRetryable)
		panic(http.ErrAbortHandler)
	}
	x.Finish(ans.status, ans.code, huaweiOutcome(ans, x.Record.Token))
	hs.write(w, ans)
}

// write sends the answer as Huawei does: {"code","msg","requestId"}, the
// 80100000 msg being JSON text that lists the illegal tokens.
func (hs *huaweiServer) write(w http.ResponseWriter, ans huaweiAnswer) {
	msg := ans.msg
	if ans.code == hwPartial {
		detail, _ := json.Marshal(map[string]any{"success": 0, "failure": len(ans.illegal),
			"illegal_tokens": ans.illegal})
		msg = string(detail)
	}
	if ans.retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	WriteJSON(w, ans.status, map[string]string{"code": ans.code, "msg": msg,
		"requestId": newUUID()})
}

// huaweiOutcome is the class the answer means for the recorded token.
func huaweiOutcome(ans huaweiAnswer, token string) string {
	if ans.code == hwPartial {
		for _, t := range ans.illegal {
			if t == token {
				return OutcomeTokenInvalid
			}
		}
		return OutcomeDelivered
	}
	if o, ok := huaweiOutcomes[ans.code]; ok {
		return o
	}
	if ans.status == http.StatusServiceUnavailable {
		return OutcomeThrottled
	}
	if ans.status >= 500 {
		return OutcomeRetryable
	}
	return OutcomePayloadError
}

// huaweiRequest is the part of a send body the emulator checks.
type huaweiRequest struct {
	ValidateOnly bool `json:"validate_only"`
	Message      *struct {
		Token   []string        `json:"token"`
		Data    json.RawMessage `json:"data"`
		Android *huaweiAndroid  `json:"android"`
	} `json:"message"`
}

type huaweiAndroid struct {
	Urgency        string          `json:"urgency"`
	Category       string          `json:"category"`
	TTL            *string         `json:"ttl"`
	TargetUserType *int            `json:"target_user_type"`
	Notification   json.RawMessage `json:"notification"`
}

type huaweiNotification struct {
	Title       *string        `json:"title"`
	Body        *string        `json:"body"`
	ClickAction *hwClickAction `json:"click_action"`
	Badge       *struct {
		Class  string `json:"class"`
		SetNum *int   `json:"set_num"`
	} `json:"badge"`
}

// hwClickAction is the click action object of Huawei and Honor.
type hwClickAction struct {
	Type   int    `json:"type"`
	Intent string `json:"intent"`
	Action string `json:"action"`
	URL    string `json:"url"`
}

// valid checks the type and the field it needs (1 intent or action, 2 url,
// 3 open the app).
func (c *hwClickAction) valid() bool {
	switch c.Type {
	case 1:
		return c.Intent != "" || c.Action != ""
	case 2:
		return c.URL != ""
	case 3:
		return true
	}
	return false
}

// decide checks a send in Huawei's order: path, body, bearer, app,
// injected faults, magic tokens, then the payload.
func (hs *huaweiServer) decide(r *http.Request, x *Exchange) (huaweiAnswer, time.Duration) {
	m := huaweiSendPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		return huaweiAnswer{status: 404, code: hwBadParams, msg: "unknown path"}, 0
	}
	body, err := ReadBody(r, huaweiMaxBody)
	if err != nil {
		return huaweiAnswer{status: 400, code: hwTooLarge, msg: "message body too large"}, 0
	}
	var req huaweiRequest
	decodeErr := DecodeJSON(body, &req)
	rec := &x.Record
	rec.Payload = RecordPayload(body)
	if req.Message != nil && len(req.Message.Token) > 0 {
		rec.Token = req.Message.Token[0]
	}
	rec.Attempt = hs.env.Attempts().Next(rec.Token, body)

	if ans, ok := hs.authorize(r, m[1], m[2], rec); !ok {
		return ans, 0
	}
	switch x.Fault.ErrorKind {
	case ErrorKindTransient:
		return huaweiMagic.Fail, 0
	case ErrorKindThrottle:
		return huaweiMagic.Throttle, 0
	}
	mm := huaweiMagic.Match(rec.Token, rec.Attempt)
	switch {
	case mm.Hang:
		return huaweiAnswer{code: codeHang}, 0
	case mm.Scripted && !hwDeadMagic(mm.Prefix):
		return mm.Answer, 0
	case mm.Scripted && hwAllDead(req):
		// Every token dead: 80300007 at once. Dead tokens among good
		// ones are listed in 80100000 after the payload checks.
		return mm.Answer, 0
	}

	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return huaweiAnswer{status: 400, code: hwBadParams, msg: "content type must be json"},
			mm.Delay
	}
	if decodeErr != nil || req.Message == nil {
		return huaweiAnswer{status: 400, code: hwBadStructure, msg: "bad message structure"},
			mm.Delay
	}
	if ans, ok := checkHuaweiPayload(req, body); !ok {
		return ans, mm.Delay
	}
	return hs.deadTokens(req.Message.Token), mm.Delay
}

func hwDeadMagic(prefix string) bool {
	return prefix == MagicDead || prefix == MagicBadDev
}

// hwAllDead reports a request whose tokens all have a dead prefix.
func hwAllDead(req huaweiRequest) bool {
	if req.Message == nil || len(req.Message.Token) == 0 {
		return false
	}
	for _, t := range req.Message.Token {
		if !hwDeadMagic(MagicOf(t)) {
			return false
		}
	}
	return true
}

// authorize checks the bearer token and that its app owns the path's
// project (v2) or client id (v1).
func (hs *huaweiServer) authorize(r *http.Request, version, id string,
	rec *Record) (huaweiAnswer, bool) {

	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	client, state := hs.tokens.Check(bearer)
	rec.Auth = RecordAuth{Scheme: "bearer", Subject: client}
	rec.App = client
	switch state {
	case TokenUnknown:
		return huaweiAnswer{status: 401, code: hwAuthUnknown, msg: "Oauth authentication error"},
			false
	case TokenExpired:
		return huaweiAnswer{status: 401, code: hwAuthExpired, msg: "Oauth Token expired"}, false
	}
	app := hs.creds.byClient[client]
	if (version == "v2" && app.ProjectID != id) || (version == "v1" && client != id) {
		return huaweiAnswer{status: 403, code: hwNoPermission,
			msg: "no permission to send message to this app"}, false
	}
	return huaweiAnswer{}, true
}

// deadTokens answers a valid request: 80300007 when every token is dead,
// 80100000 listing the dead ones among good ones, else success.
func (hs *huaweiServer) deadTokens(tokens []string) huaweiAnswer {
	var dead []string
	for _, t := range tokens {
		if hwDeadMagic(MagicOf(t)) {
			dead = append(dead, t)
		}
	}
	switch {
	case len(dead) == 0:
		return huaweiAnswer{status: 200, code: hwSuccess, msg: "Success"}
	case len(dead) == len(tokens):
		return huaweiMagic.Dead
	}
	return huaweiAnswer{status: 200, code: hwPartial, illegal: dead}
}

// checkHuaweiPayload applies the rules of VENDORS.md §2.3.
func checkHuaweiPayload(req huaweiRequest, body []byte) (huaweiAnswer, bool) {
	bad := func(code, msg string) (huaweiAnswer, bool) {
		return huaweiAnswer{status: 400, code: code, msg: msg}, false
	}
	msg := req.Message
	switch n := len(msg.Token); {
	case n == 0:
		return bad(hwBadParams, "token is required")
	case n > huaweiMaxTokens:
		return bad(hwTooManyTokens, "too many tokens")
	}
	if len(msg.Data) > 0 && msg.Data[0] != '"' {
		return bad(hwBadStructure, "data must be a string")
	}
	if size := hwSizeWithoutTokens(body, func(v map[string]any) {
		if m, ok := v["message"].(map[string]any); ok {
			delete(m, "token")
		}
	}); size > huaweiMaxPayload {
		return bad(hwTooLarge, "message body size exceeds 4096 bytes")
	}
	if msg.Android == nil {
		return huaweiAnswer{}, true
	}
	return checkHuaweiAndroid(msg.Android)
}

func checkHuaweiAndroid(a *huaweiAndroid) (huaweiAnswer, bool) {
	bad := func(code, msg string) (huaweiAnswer, bool) {
		return huaweiAnswer{status: 400, code: code, msg: msg}, false
	}
	switch {
	case a.Urgency != "" && a.Urgency != "HIGH" && a.Urgency != "NORMAL":
		return bad(hwBadParams, "urgency must be HIGH or NORMAL")
	case a.Urgency == "HIGH" && a.Category == "":
		return bad(hwHighNoCategory, "HIGH urgency needs a message category")
	case a.TTL != nil && !hwValidTTL(*a.TTL):
		return bad(hwBadTTL, "ttl must be at most 1296000s")
	case a.TargetUserType != nil && *a.TargetUserType != 0 && *a.TargetUserType != 1:
		return bad(hwBadParams, "target_user_type must be 0 or 1")
	}
	if len(a.Notification) == 0 {
		return huaweiAnswer{}, true
	}
	var n huaweiNotification
	if json.Unmarshal(a.Notification, &n) != nil {
		return bad(hwBadStructure, "bad notification")
	}
	switch {
	case n.ClickAction == nil:
		return bad(hwBadStructure, "click_action is required")
	case !n.ClickAction.valid():
		return bad(hwBadStructure, "click_action type or target is invalid")
	case n.Title == nil || n.Body == nil:
		return bad(hwBadStructure, "title and body are required")
	case n.Badge != nil && n.Badge.Class == "":
		return bad(hwBadStructure, "badge class is required")
	case n.Badge != nil && n.Badge.SetNum != nil && (*n.Badge.SetNum < 0 || *n.Badge.SetNum > 99):
		return bad(hwBadParams, "badge set_num must be 0 to 99")
	}
	return huaweiAnswer{}, true
}

// hwTTLPattern is the duration text Huawei and Honor take: seconds with up
// to nine decimals.
var hwTTLPattern = regexp.MustCompile(`^\d+(\.\d{1,9})?s$`)

// hwValidTTL checks a ttl's form and its maximum of 15 days.
func hwValidTTL(ttl string) bool {
	if !hwTTLPattern.MatchString(ttl) {
		return false
	}
	secs, err := strconv.ParseFloat(strings.TrimSuffix(ttl, "s"), 64)
	return err == nil && secs <= huaweiMaxTTLSecs
}

// hwSizeWithoutTokens is the size of the JSON body once strip removed its
// tokens, re-encoded compactly as the client encodes it.
func hwSizeWithoutTokens(body []byte, strip func(map[string]any)) int {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return len(body)
	}
	strip(v)
	out, err := json.Marshal(v)
	if err != nil {
		return len(body)
	}
	return len(out)
}

// hwServeToken is the OAuth2 client_credentials token endpoint
// of Huawei and Honor: a form with grant_type, client_id, client_secret;
// refusals are 400 {"error","error_description"} (VENDORS.md §4).
func hwServeToken(env *VendorEnv, tokens *hwTokens, w http.ResponseWriter,
	r *http.Request, secretOf func(clientID string) (string, bool)) {

	env.CountTokenFetch()
	refuse := func(code, desc string) {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": code,
			"error_description": desc})
	}
	if r.Method != http.MethodPost {
		refuse("invalid_request", "method must be POST")
		return
	}
	body, err := ReadBody(r, 16<<10)
	if err != nil {
		refuse("invalid_request", "body too large")
		return
	}
	form, err := ParseForm(body)
	switch {
	case err != nil:
		refuse("invalid_request", "body is not a form")
		return
	case form.Get("grant_type") != "client_credentials":
		refuse("unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	id := form.Get("client_id")
	secret, ok := secretOf(id)
	if !ok || id == "" || secret != form.Get("client_secret") {
		refuse("invalid_client", "unknown client or wrong secret")
		return
	}
	// expires_in is whole seconds, rounded up so a short test ttl is
	// never announced as 0.
	tok, ttl := tokens.Issue(id)
	secs := int64((ttl + time.Second - 1) / time.Second)
	WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok,
		"expires_in": secs, "token_type": "Bearer"})
}

// ExpireVendorTokens makes every access token vendor issued so far
// expired, so tests reach the vendor's "token expired" answer without
// waiting. It reports false for a vendor that is not running.
func (s *Sim) ExpireVendorTokens(vendor string) bool {
	rv, ok := s.vendors[vendor]
	if !ok {
		return false
	}
	rv.env.mu.Lock()
	issuers := append([]*TokenIssuer(nil), rv.env.issuers...)
	rv.env.mu.Unlock()
	for _, ti := range issuers {
		ti.ExpireAll()
	}
	return true
}

// hwTokens issues the access tokens of Huawei and Honor. Their lifetime is
// the fault set's token_ttl when set (read at each issue, so PUT
// /_sim/faults changes it for the next token), else the section's.
type hwTokens struct {
	env *VendorEnv
	ttl time.Duration // the section's; 0 = DefaultTokenTTL

	// mu guards byTTL: one issuer per lifetime in use, all reset with the
	// simulator.
	mu    sync.Mutex
	byTTL map[time.Duration]*TokenIssuer
}

func newHWTokens(env *VendorEnv, ttl time.Duration) *hwTokens {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	t := &hwTokens{env: env, ttl: ttl, byTTL: map[time.Duration]*TokenIssuer{}}
	t.issuer(ttl)
	return t
}

// issuer returns the issuer of tokens that live ttl.
func (t *hwTokens) issuer(ttl time.Duration) *TokenIssuer {
	t.mu.Lock()
	defer t.mu.Unlock()
	ti, ok := t.byTTL[ttl]
	if !ok {
		ti = t.env.NewTokenIssuer(ttl)
		t.byTTL[ttl] = ti
	}
	return ti
}

// Issue makes a token for subject with the lifetime in force now.
func (t *hwTokens) Issue(subject string) (string, time.Duration) {
	ttl := time.Duration(t.env.Faults().TokenTTL)
	if ttl <= 0 {
		ttl = t.ttl
	}
	return t.issuer(ttl).Issue(subject)
}

// Check finds tok in any issuer.
func (t *hwTokens) Check(tok string) (string, TokenState) {
	t.mu.Lock()
	issuers := make([]*TokenIssuer, 0, len(t.byTTL))
	for _, ti := range t.byTTL {
		issuers = append(issuers, ti)
	}
	t.mu.Unlock()
	for _, ti := range issuers {
		if subject, state := ti.Check(tok); state != TokenUnknown {
			return subject, state
		}
	}
	return "", TokenUnknown
}
