package vendorsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"go.yaml.in/yaml/v3"
)

// VendorFCM is the FCM HTTP v1 emulator's name, as in records, endpoints
// and fault sets.
const VendorFCM = "fcm"

// FCMServiceAccountFile is the service-account JSON GenCreds writes.
const FCMServiceAccountFile = "fcm-service-account.json"

// FCM paths and limits (VENDORS.md §2.2).
const (
	fcmTokenPath      = "/token"
	fcmSendPrefix     = "/v1/projects/"
	fcmSendSuffix     = "/messages:send"
	fcmGoogleTokenURL = "https://oauth2.googleapis.com/token"
	fcmScope          = "https://www.googleapis.com/auth/firebase.messaging"
	fcmCloudScope     = "https://www.googleapis.com/auth/cloud-platform"
	fcmJWTGrant       = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	fcmMaxAssertion   = time.Hour
	fcmMaxBody        = 64 << 10
	// fcmMaxPayload is the limit on a device message: treat as the body
	// less the device token (the Herald client counts the same way).
	fcmMaxPayload      = 4096
	fcmMaxTopicPayload = 2048
	fcmMaxTTL          = 2419200
	fcmStreams         = 100
	fcmMaxToken        = 4096
)

// google.rpc statuses and FCM error codes the emulator answers with.
const (
	fcmStatusInvalidArgument = "INVALID_ARGUMENT"
	fcmStatusUnauthenticated = "UNAUTHENTICATED"
	fcmStatusPermission      = "PERMISSION_DENIED"
	fcmStatusNotFound        = "NOT_FOUND"
	fcmStatusExhausted       = "RESOURCE_EXHAUSTED"
	fcmStatusUnavailable     = "UNAVAILABLE"
	fcmStatusInternal        = "INTERNAL"
	fcmCodeUnregistered      = "UNREGISTERED"
	fcmCodeQuotaExceeded     = "QUOTA_EXCEEDED"
	fcmTypeFcmError          = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
	fcmTypeBadRequest        = "type.googleapis.com/google.rpc.BadRequest"
)

// init registers the FCM emulator: HTTP/2 only with 100 streams, the
// OAuth token service and messages:send on one listener.
//
// TODO: FCM answers streams over the limit with GOAWAY and debug text
// exceeded_max_concurrent_streams (VENDORS.md §3); net/http's http2.Server
// refuses them with RST_STREAM instead and offers no hook to change that.
func init() {
	RegisterVendor(VendorSpec{
		Name:       VendorFCM,
		MaxStreams: fcmStreams,
		Hosts:      []string{"fcm.googleapis.com", "oauth2.googleapis.com"},
		LoadCreds:  loadFCMCreds,
		NewHandler: func(env *VendorEnv, creds any) (http.Handler, error) {
			return newFCMServer(env, creds.(*fcmCreds)), nil
		},
		GenCreds: genFCMCreds,
	})
}

// fcmCredsFile is the fcm section of vendorsim.yaml.
type fcmCredsFile struct {
	Projects []fcmProjectFile `yaml:"projects"`
	// TokenTTL is the access-token lifetime; 0 = DefaultTokenTTL.
	TokenTTL Duration `yaml:"token_ttl,omitempty"`
	// QuotaPerMinute caps messages per project per rolling minute, refused
	// ones included (Google: 600,000); 0 = no cap.
	QuotaPerMinute int `yaml:"quota_per_minute,omitempty"`
}

type fcmProjectFile struct {
	ProjectID string           `yaml:"project_id"`
	Accounts  []fcmAccountFile `yaml:"accounts"`
}

// fcmAccountFile is one service account: its email, key id and the PEM
// public key of its private key.
type fcmAccountFile struct {
	ClientEmail  string `yaml:"client_email"`
	PrivateKeyID string `yaml:"private_key_id,omitempty"`
	PublicKey    string `yaml:"public_key"`
}

type fcmAccount struct {
	email   string
	keyID   string
	key     *rsa.PublicKey
	project string
}

// fcmCreds is the loaded fcm section.
type fcmCreds struct {
	accounts map[string]*fcmAccount // by client_email
	projects map[string]bool
	tokenTTL time.Duration
	quota    int
}

// loadFCMCreds is the fcm LoadCreds hook.
func loadFCMCreds(node *yaml.Node) (any, error) {
	var f fcmCredsFile
	if node != nil {
		if err := node.Decode(&f); err != nil {
			return nil, fmt.Errorf("fcm: %w", err)
		}
	}
	c := &fcmCreds{accounts: map[string]*fcmAccount{}, projects: map[string]bool{},
		tokenTTL: time.Duration(f.TokenTTL), quota: f.QuotaPerMinute}
	if c.tokenTTL < 0 || c.quota < 0 {
		return nil, errors.New("fcm: token_ttl and quota_per_minute must not be negative")
	}
	for i, p := range f.Projects {
		if p.ProjectID == "" || c.projects[p.ProjectID] {
			return nil, fmt.Errorf("fcm.projects[%d].project_id: empty or listed twice", i)
		}
		c.projects[p.ProjectID] = true
		for j, a := range p.Accounts {
			at := fmt.Sprintf("fcm.projects[%d].accounts[%d]", i, j)
			if a.ClientEmail == "" || c.accounts[a.ClientEmail] != nil {
				return nil, fmt.Errorf("%s.client_email: empty or listed twice", at)
			}
			key, err := parseRSAPublicKey([]byte(a.PublicKey))
			if err != nil {
				return nil, fmt.Errorf("%s.public_key: %w", at, err)
			}
			c.accounts[a.ClientEmail] = &fcmAccount{email: a.ClientEmail,
				keyID: a.PrivateKeyID, key: key, project: p.ProjectID}
		}
	}
	return c, nil
}

func parseRSAPublicKey(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA public key")
	}
	return pub, nil
}

// genFCMCreds is the fcm GenCreds hook: one project with one service
// account whose token_uri is Google's (tests set auth_endpoint).
func genFCMCreds(dir string) (GeneratedCreds, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return GeneratedCreds{}, fmt.Errorf("generate fcm key: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return GeneratedCreds{}, fmt.Errorf("encode fcm key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return GeneratedCreds{}, fmt.Errorf("encode fcm public key: %w", err)
	}

	project := "herald-demo-" + strings.ToLower(randomID(6))
	email := "herald-push@" + project + ".iam.gserviceaccount.com"
	keyID := hex.EncodeToString(randomBytes(20))
	account := map[string]string{
		"type":           "service_account",
		"project_id":     project,
		"private_key_id": keyID,
		"private_key":    string(pemBlock("PRIVATE KEY", keyDER)),
		"client_email":   email,
		"client_id":      randomDigits(21),
		"token_uri":      fcmGoogleTokenURL,
	}
	text, err := json.MarshalIndent(account, "", "  ")
	if err != nil {
		return GeneratedCreds{}, fmt.Errorf("encode service account: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FCMServiceAccountFile), text, 0o600); err != nil {
		return GeneratedCreds{}, fmt.Errorf("write service account: %w", err)
	}

	section := fcmCredsFile{Projects: []fcmProjectFile{{ProjectID: project,
		Accounts: []fcmAccountFile{{ClientEmail: email, PrivateKeyID: keyID,
			PublicKey: string(pemBlock("PUBLIC KEY", pubDER))}}}}}
	return GeneratedCreds{Section: section,
		Fields: map[string]string{"service_account": string(text)}}, nil
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteString(d.String())
	}
	return b.String()
}

// fcmServer answers the OAuth token service and messages:send.
type fcmServer struct {
	env    *VendorEnv
	creds  *fcmCreds
	tokens *TokenIssuer
	quota  *fcmQuota
}

func newFCMServer(env *VendorEnv, creds *fcmCreds) *fcmServer {
	return &fcmServer{env: env, creds: creds, tokens: env.NewTokenIssuer(creds.tokenTTL),
		quota: newFCMQuota(creds.quota)}
}

// Reset forgets the quota windows.
func (fs *fcmServer) Reset() { fs.quota.reset() }

func (fs *fcmServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == fcmTokenPath {
		fs.serveToken(w, r)
		return
	}
	fs.serveSend(w, r)
}

// serveToken is Google's token endpoint for the JWT bearer grant.
func (fs *fcmServer) serveToken(w http.ResponseWriter, r *http.Request) {
	fs.env.CountTokenFetch()
	refuse := func(desc string) {
		WriteJSON(w, http.StatusBadRequest, map[string]string{
			"error": "invalid_grant", "error_description": desc})
	}
	if r.Method != http.MethodPost {
		WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	body, err := ReadBody(r, fcmMaxBody)
	if err != nil {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	form, err := ParseForm(body)
	if err != nil || form.Get("grant_type") != fcmJWTGrant {
		WriteJSON(w, http.StatusBadRequest, map[string]string{
			"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
		return
	}

	acct, reason := fs.checkAssertion(r, form.Get("assertion"))
	if acct == nil {
		refuse(reason)
		return
	}
	tok, ttl := fs.tokens.Issue(acct.email)
	WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": max(int(ttl/time.Second)-1, 1)})
}

// checkAssertion verifies the signed JWT as Google does (VENDORS.md §4):
// a known account's RS256 signature, aud = a token URL, a lifetime of at
// most an hour that has not ended, and a scope.
func (fs *fcmServer) checkAssertion(r *http.Request, text string) (*fcmAccount, string) {
	var acct *fcmAccount
	claims := jwt.MapClaims{}
	parser := jwt.Parser{ValidMethods: []string{"RS256"}, SkipClaimsValidation: true}
	_, err := parser.ParseWithClaims(text, claims, func(t *jwt.Token) (any, error) {
		iss, _ := claims["iss"].(string)
		acct = fs.creds.accounts[iss]
		if acct == nil {
			return nil, errors.New("unknown account")
		}
		if kid, _ := t.Header["kid"].(string); kid != "" && acct.keyID != "" &&
			kid != acct.keyID {
			return nil, errors.New("unknown key id")
		}
		return acct.key, nil
	})
	if err != nil {
		return nil, "Invalid JWT Signature."
	}

	aud, _ := claims["aud"].(string)
	own := "https://" + r.Host + fcmTokenPath
	if aud != fcmGoogleTokenURL && aud != own && aud != fs.env.Endpoint()+fcmTokenPath {
		return nil, "Invalid JWT audience."
	}
	iat, okIat := numClaim(claims, "iat")
	exp, okExp := numClaim(claims, "exp")
	now := fs.env.Now().Unix()
	if !okIat || !okExp || exp-iat > int64(fcmMaxAssertion/time.Second) || exp <= now ||
		iat > now+300 {
		return nil, "Invalid JWT: Token must be a short-lived token (60 minutes) and in " +
			"a reasonable timeframe. Check your iat and exp values in the JWT claim."
	}
	if scope, _ := claims["scope"].(string); !hasScope(scope) {
		return nil, "Invalid OAuth scope or ID token audience provided."
	}
	return acct, ""
}

func numClaim(c jwt.MapClaims, name string) (int64, bool) {
	f, ok := c[name].(float64)
	return int64(f), ok
}

func hasScope(scope string) bool {
	for _, s := range strings.Fields(scope) {
		if s == fcmScope || s == fcmCloudScope {
			return true
		}
	}
	return false
}

// fcmAnswer is what the emulator decided to answer to a send.
type fcmAnswer struct {
	status     int
	grpc       string // google.rpc status
	code       string // FcmError errorCode, "" for none
	message    string
	field      string // BadRequest violation, with violation set
	desc       string
	violation  bool
	retryAfter bool
	name       string // the accepted message's name
	delay      time.Duration
	hang       bool
}

func fcmError(status int, grpc, code, message string) fcmAnswer {
	return fcmAnswer{status: status, grpc: grpc, code: code, message: message}
}

// fcmInvalid is FCM's answer to a payload rule: 400 INVALID_ARGUMENT with
// a BadRequest naming the field.
func fcmInvalid(field, desc string) fcmAnswer {
	a := fcmError(http.StatusBadRequest, fcmStatusInvalidArgument, fcmStatusInvalidArgument,
		"Request contains an invalid argument.")
	a.field, a.desc, a.violation = field, desc, true
	return a
}

func fcmUnavailable() fcmAnswer {
	a := fcmError(http.StatusServiceUnavailable, fcmStatusUnavailable, fcmStatusUnavailable,
		"The service is currently unavailable.")
	a.retryAfter = true
	return a
}

func fcmQuotaExceeded() fcmAnswer {
	a := fcmError(http.StatusTooManyRequests, fcmStatusExhausted, fcmCodeQuotaExceeded,
		"Quota exceeded for quota metric 'Send requests'.")
	a.retryAfter = true
	return a
}

// fcmMagic are FCM's answers to the magic tokens (VENDORS.md §4).
var fcmMagic = MagicAnswers[fcmAnswer]{
	Dead: fcmError(http.StatusNotFound, fcmStatusNotFound, fcmCodeUnregistered,
		"Requested entity was not found."),
	BadDev: fcmInvalid("message.token",
		"The registration token is not a valid FCM registration token"),
	Throttle: fcmQuotaExceeded(),
	Fail: fcmError(http.StatusInternalServerError, fcmStatusInternal, fcmStatusInternal,
		"Internal error encountered."),
	Flaky:  fcmUnavailable(),
	Refuse: true,
}

func (a fcmAnswer) vendorCode() string {
	switch {
	case a.hang:
		return codeHang
	case a.code != "":
		return a.code
	}
	return a.grpc
}

// outcome is the class of VENDORS.md §1.8 the answer is meant to get.
func (a fcmAnswer) outcome() string {
	switch {
	case a.hang:
		return OutcomeRetryable
	case a.status == http.StatusOK:
		return OutcomeDelivered
	case a.code == fcmCodeUnregistered || a.field == "message.token":
		return OutcomeTokenInvalid
	case a.status == http.StatusTooManyRequests:
		return OutcomeThrottled
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		return OutcomeCredentialError
	case a.status >= 500:
		return OutcomeRetryable
	}
	return OutcomePayloadError
}

// write sends the answer: {"name"} on success, else Google's error JSON.
func (a fcmAnswer) write(w http.ResponseWriter) {
	if a.retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	if a.status == http.StatusOK {
		WriteJSON(w, http.StatusOK, map[string]string{"name": a.name})
		return
	}
	e := map[string]any{"code": a.status, "message": a.message, "status": a.grpc}
	var details []any
	if a.code != "" {
		details = append(details, map[string]string{"@type": fcmTypeFcmError,
			"errorCode": a.code})
	}
	if a.violation {
		details = append(details, map[string]any{"@type": fcmTypeBadRequest,
			"fieldViolations": []map[string]string{{"field": a.field, "description": a.desc}}})
	}
	if details != nil {
		e["details"] = details
	}
	WriteJSON(w, a.status, map[string]any{"error": e})
}

// serveSend answers POST /v1/projects/<p>/messages:send.
func (fs *fcmServer) serveSend(w http.ResponseWriter, r *http.Request) {
	x := fs.env.Begin(r)
	body, err := ReadBody(r, fcmMaxBody)
	if err != nil && !errors.Is(err, ErrBodyTooLarge) {
		fs.env.Log().Debug("fcm read body failed", "err", err)
		x.Abandon()
		panic(http.ErrAbortHandler)
	}
	x.Record.Payload = RecordPayload(body)

	var ans fcmAnswer
	if err != nil {
		ans = fcmInvalid("message", "Request payload size exceeds the limit")
	} else {
		ans = fs.decide(r, body, x)
	}
	if !x.Delay(r.Context(), ans.delay) {
		ans = fcmAnswer{hang: true}
	}
	if ans.hang {
		x.Hang(r.Context())
		x.Finish(0, ans.vendorCode(), ans.outcome())
		panic(http.ErrAbortHandler)
	}
	x.Finish(ans.status, ans.vendorCode(), ans.outcome())
	ans.write(w)
}

// decide checks a send in Google's order: path, access token, project,
// quota, injected faults, magic tokens, then the message itself.
func (fs *fcmServer) decide(r *http.Request, body []byte, x *Exchange) fcmAnswer {
	project, ok := fcmProjectOf(r.URL.Path)
	if !ok || r.Method != http.MethodPost {
		return fcmError(http.StatusNotFound, fcmStatusNotFound, "",
			"Method or path not found.")
	}
	rec := &x.Record
	rec.App = project
	var peek struct {
		Message struct {
			Token string `json:"token"`
		} `json:"message"`
	}
	_ = json.Unmarshal(body, &peek) // the full check comes below
	token := peek.Message.Token
	rec.Token = token
	rec.Attempt = fs.env.Attempts().Next(token, body)

	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	email, state := fs.tokens.Check(bearer)
	rec.Auth = RecordAuth{Scheme: "bearer", Subject: email}
	if state != TokenValid {
		return fcmError(http.StatusUnauthorized, fcmStatusUnauthenticated, "",
			"Request had invalid authentication credentials. Expected OAuth 2 access "+
				"token, login cookie or other valid authentication credential.")
	}
	if acct := fs.creds.accounts[email]; acct == nil || acct.project != project {
		return fcmError(http.StatusForbidden, fcmStatusPermission, "",
			"Permission 'cloudmessaging.messages.create' denied on resource "+
				"'//cloudresourcemanager.googleapis.com/projects/"+project+
				"' (or it may not exist).")
	}
	if !fs.quota.take(project, fs.env.Now()) {
		return fcmQuotaExceeded()
	}

	switch x.Fault.ErrorKind {
	case ErrorKindTransient:
		return fcmUnavailable()
	case ErrorKindThrottle:
		return fcmQuotaExceeded()
	}
	m := fcmMagic.Match(token, rec.Attempt)
	switch {
	case m.Scripted:
		return m.Answer
	case m.Hang:
		return fcmAnswer{hang: true}
	case m.Refuse:
		// TODO: FCM resets the stream with REFUSED_STREAM; net/http's
		// http2.Server cannot send that code from a handler (a panic
		// resets with INTERNAL_ERROR), so the first attempt gets 503.
		return fcmUnavailable()
	}

	ans := checkFCMMessage(body, len(token), m.Prefix == "")
	if ans.status == http.StatusOK {
		ans.name = "projects/" + project + "/messages/" + fcmMessageID(fs.env.Now())
	}
	ans.delay = m.Delay
	return ans
}

// fcmProjectOf reads the project from /v1/projects/<p>/messages:send.
func fcmProjectOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, fcmSendPrefix)
	if !ok {
		return "", false
	}
	project, ok := strings.CutSuffix(rest, fcmSendSuffix)
	if !ok || project == "" || strings.Contains(project, "/") {
		return "", false
	}
	return project, true
}

// fcmMessageID looks like FCM's: "0:<ms>%<16 hex>".
func fcmMessageID(now time.Time) string {
	return "0:" + strconv.FormatInt(now.UnixMilli(), 10) + "%" +
		hex.EncodeToString(randomBytes(8))
}

// fcmQuota counts messages per project over a rolling minute, in
// one-second buckets (quota_per_minute).
type fcmQuota struct {
	limit int

	mu      sync.Mutex
	windows map[string]*fcmWindow // guarded by mu
}

type fcmWindow struct {
	counts [60]int
	secs   [60]int64
}

func newFCMQuota(limit int) *fcmQuota {
	return &fcmQuota{limit: limit, windows: map[string]*fcmWindow{}}
}

// take counts one message of project and reports whether the project was
// still under its quota; refused messages count too, as at Google.
func (q *fcmQuota) take(project string, now time.Time) bool {
	if q.limit <= 0 {
		return true
	}
	sec := now.Unix()
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.windows[project]
	if w == nil {
		w = &fcmWindow{}
		q.windows[project] = w
	}
	total := 0
	for i := range w.counts {
		if sec-w.secs[i] < 60 {
			total += w.counts[i]
		}
	}
	i := sec % 60
	if w.secs[i] != sec {
		w.secs[i], w.counts[i] = sec, 0
	}
	w.counts[i]++
	return total < q.limit
}

func (q *fcmQuota) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.windows)
}

// Keys FCM HTTP v1 knows at each level; any other is refused as Google's
// strict JSON parser does.
var (
	fcmBodyKeys    = fcmKeys("message", "validate_only")
	fcmMessageKeys = fcmKeys("name", "data", "notification", "android", "webpush", "apns",
		"fcm_options", "token", "topic", "condition", "fid")
	fcmNotificationKeys = fcmKeys("title", "body", "image")
	fcmAndroidKeys      = fcmKeys("collapse_key", "priority", "ttl",
		"restricted_package_name", "data", "notification", "fcm_options", "direct_boot_ok",
		"bandwidth_constrained_ok", "restricted_satellite_ok")
	fcmAndroidNoteKeys = fcmKeys("title", "body", "icon", "color", "sound", "tag",
		"click_action", "body_loc_key", "body_loc_args", "title_loc_key", "title_loc_args",
		"channel_id", "ticker", "sticky", "event_time", "local_only", "notification_priority",
		"default_sound", "default_vibrate_timings", "default_light_settings",
		"vibrate_timings", "visibility", "notification_count", "light_settings", "image",
		"bypass_proxy_notification", "proxy")
	fcmOptionsKeys = fcmKeys("analytics_label")
)

var (
	fcmTTLPattern   = regexp.MustCompile(`^\d+(\.\d{1,9})?s$`)
	fcmLabelPattern = regexp.MustCompile(`^[a-zA-Z0-9\-_.~%]{1,50}$`)
	fcmTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_:.\-]+$`)
)

func fcmKeys(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// fcmRefusal is the first payload rule a message breaks.
type fcmRefusal struct{ field, desc string }

func (e *fcmRefusal) Error() string { return e.field + ": " + e.desc }

// checkFCMMessage applies the payload rules of VENDORS.md §2.2 to a send
// body: known fields only, one target, string data without reserved keys,
// android ttl and priority, the size limit. checkToken false skips the
// token format (magic tokens).
func checkFCMMessage(body []byte, tokenLen int, checkToken bool) fcmAnswer {
	var doc map[string]json.RawMessage
	if err := DecodeJSON(body, &doc); err != nil || doc == nil {
		return fcmInvalid("", "Invalid JSON payload received.")
	}
	validateOnly, topic, err := checkFCMBody(doc, checkToken)
	if err != nil {
		var ref *fcmRefusal
		if errors.As(err, &ref) {
			return fcmInvalid(ref.field, ref.desc)
		}
		return fcmInvalid("message", err.Error())
	}

	limit := fcmMaxPayload
	if topic {
		limit = fcmMaxTopicPayload
	}
	if len(body)-tokenLen > limit {
		return fcmInvalid("message", "Message is too big")
	}
	ans := fcmAnswer{status: http.StatusOK}
	if validateOnly {
		ans.name = "fake_message_id"
	}
	return ans
}

// checkFCMBody checks the body's structure; it reports validate_only and
// whether the target is a topic or condition.
func checkFCMBody(doc map[string]json.RawMessage, checkToken bool) (bool, bool, error) {
	if err := fcmKnownKeys(doc, "", fcmBodyKeys); err != nil {
		return false, false, err
	}
	var validateOnly bool
	if v, ok := doc["validate_only"]; ok && json.Unmarshal(v, &validateOnly) != nil {
		return false, false, &fcmRefusal{"validate_only", "Invalid value (TYPE_BOOL)"}
	}
	msg, err := fcmSubObject(doc, "message", "message", fcmMessageKeys)
	if err != nil {
		return false, false, err
	}
	if msg == nil {
		return false, false, &fcmRefusal{"message", "Message must be set"}
	}

	topic, err := checkFCMTarget(msg, checkToken)
	if err != nil {
		return false, false, err
	}
	if err := checkFCMData(msg, "message.data"); err != nil {
		return false, false, err
	}
	if _, err := fcmSubObject(msg, "notification", "message.notification",
		fcmNotificationKeys); err != nil {
		return false, false, err
	}
	if err := checkFCMAndroid(msg); err != nil {
		return false, false, err
	}
	opts, err := fcmSubObject(msg, "fcm_options", "message.fcm_options", fcmOptionsKeys)
	if err != nil {
		return false, false, err
	}
	if label, ok := fcmString(opts, "analytics_label"); ok && !fcmLabelPattern.MatchString(label) {
		return false, false, &fcmRefusal{"message.fcm_options.analytics_label",
			"Analytics label must match " + fcmLabelPattern.String()}
	}
	return validateOnly, topic, nil
}

// checkFCMTarget insists on exactly one of token, topic, condition, fid.
func checkFCMTarget(msg map[string]json.RawMessage, checkToken bool) (bool, error) {
	set := 0
	for _, k := range []string{"token", "topic", "condition", "fid"} {
		v, present := msg[k]
		if !present {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return false, &fcmRefusal{"message." + k, "Invalid value (TYPE_STRING)"}
		}
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return false, &fcmRefusal{"message",
			"Exactly one of token, topic, condition or fid must be set"}
	}
	tok, isToken := fcmString(msg, "token")
	if isToken && tok != "" && checkToken &&
		(len(tok) > fcmMaxToken || !fcmTokenPattern.MatchString(tok)) {
		return false, &fcmRefusal{"message.token",
			"The registration token is not a valid FCM registration token"}
	}
	_, hasTopic := fcmString(msg, "topic")
	_, hasCond := fcmString(msg, "condition")
	return hasTopic || hasCond, nil
}

// checkFCMData: string values only, no reserved keys.
func checkFCMData(parent map[string]json.RawMessage, at string) error {
	v, ok := parent["data"]
	if !ok {
		return nil
	}
	var data map[string]json.RawMessage
	if json.Unmarshal(v, &data) != nil {
		return &fcmRefusal{at, "Invalid value (map<string, string>)"}
	}
	for k, val := range data {
		lower := strings.ToLower(k)
		if lower == "from" || lower == "notification" || lower == "message_type" ||
			strings.HasPrefix(lower, "google.") || strings.HasPrefix(lower, "gcm.") {
			return &fcmRefusal{at, "Invalid data payload key: " + k}
		}
		var s string
		if json.Unmarshal(val, &s) != nil {
			return &fcmRefusal{at + "[" + k + "].value", "Invalid value (TYPE_STRING)"}
		}
	}
	return nil
}

// checkFCMAndroid checks the android block: priority, ttl, collapse key,
// data and notification.
func checkFCMAndroid(msg map[string]json.RawMessage) error {
	a, err := fcmSubObject(msg, "android", "message.android", fcmAndroidKeys)
	if err != nil || a == nil {
		return err
	}
	if p, ok := fcmString(a, "priority"); ok || a["priority"] != nil {
		switch strings.ToUpper(p) {
		case "HIGH", "NORMAL":
		default:
			return &fcmRefusal{"message.android.priority",
				"Invalid value: must be HIGH or NORMAL"}
		}
	}
	if t, ok := fcmString(a, "ttl"); ok || a["ttl"] != nil {
		if !fcmTTLPattern.MatchString(t) {
			return &fcmRefusal{"message.android.ttl", "Invalid duration format"}
		}
		secs, _ := strconv.ParseFloat(strings.TrimSuffix(t, "s"), 64)
		if secs > fcmMaxTTL {
			return &fcmRefusal{"message.android.ttl", "TTL must not exceed 4 weeks"}
		}
	}
	if _, ok := fcmString(a, "collapse_key"); !ok && a["collapse_key"] != nil {
		return &fcmRefusal{"message.android.collapse_key", "Invalid value (TYPE_STRING)"}
	}
	if err := checkFCMData(a, "message.android.data"); err != nil {
		return err
	}

	n, err := fcmSubObject(a, "notification", "message.android.notification",
		fcmAndroidNoteKeys)
	if err != nil || n == nil {
		return err
	}
	for _, k := range []string{"title", "body", "sound", "tag", "channel_id", "click_action"} {
		if _, ok := fcmString(n, k); !ok && n[k] != nil {
			return &fcmRefusal{"message.android.notification." + k,
				"Invalid value (TYPE_STRING)"}
		}
	}
	if v, ok := n["notification_count"]; ok {
		var count int32
		if json.Unmarshal(v, &count) != nil || count < 0 {
			return &fcmRefusal{"message.android.notification.notification_count",
				"Invalid value: must be a non-negative int32"}
		}
	}
	return nil
}

// fcmSubObject decodes parent[key] as an object with known keys; absent
// gives nil.
func fcmSubObject(parent map[string]json.RawMessage, key, at string,
	known map[string]bool) (map[string]json.RawMessage, error) {

	v, ok := parent[key]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) != nil {
		return nil, &fcmRefusal{at, "Invalid value (TYPE_MESSAGE)"}
	}
	return obj, fcmKnownKeys(obj, at, known)
}

func fcmKnownKeys(obj map[string]json.RawMessage, at string, known map[string]bool) error {
	for k := range obj {
		if !known[k] {
			return &fcmRefusal{at, fmt.Sprintf(
				"Invalid JSON payload received. Unknown name %q: Cannot find field.", k)}
		}
	}
	return nil
}

// fcmString reads obj[key] as a string; false if absent or not a string.
func fcmString(obj map[string]json.RawMessage, key string) (string, bool) {
	v, ok := obj[key]
	if !ok {
		return "", false
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}
