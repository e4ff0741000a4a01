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
	"time"

	"go.yaml.in/yaml/v3"
)

// VendorHonor is the Honor Push emulator's name, as in records, endpoints
// and fault sets (VENDORS.md §2.4, §4).
const VendorHonor = "honor"

// Honor paths, limits and codes. Honor's error codes are numbers with
// Huawei's meanings (VENDORS.md §1.8 "8xxxxxxx codes as huawei").
const (
	honorTokenPath  = "/auth/token"
	honorSecretFile = "honor.secret"
	honorOK         = 200
)

func init() {
	RegisterVendor(VendorSpec{
		Name:       VendorHonor,
		HTTP1:      true,
		MaxStreams: 1000,
		Hosts:      []string{"push-api.cloud.honor.com", "iam.developer.honor.com"},
		LoadCreds:  loadHonorCreds,
		NewHandler: newHonorServer,
		GenCreds:   genHonorCreds,
	})
}

// honorSection is the vendorsim.yaml section of honor.
type honorSection struct {
	Apps []honorApp `yaml:"apps"`
	// TokenTTL is the access-token lifetime; 0 = DefaultTokenTTL.
	TokenTTL Duration `yaml:"token_ttl,omitempty"`
}

type honorApp struct {
	AppID        string `yaml:"app_id"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
}

// honorCreds are the loaded apps by client id.
type honorCreds struct {
	byClient map[string]honorApp
	ttl      time.Duration
}

func loadHonorCreds(node *yaml.Node) (any, error) {
	var sec honorSection
	if node != nil {
		if err := node.Decode(&sec); err != nil {
			return nil, fmt.Errorf("honor: %w", err)
		}
	}
	c := &honorCreds{byClient: map[string]honorApp{}, ttl: time.Duration(sec.TokenTTL)}
	for i, a := range sec.Apps {
		switch {
		case a.AppID == "" || a.ClientID == "" || a.ClientSecret == "":
			return nil, fmt.Errorf("honor.apps[%d]: app_id, client_id and client_secret "+
				"are required", i)
		case c.byClient[a.ClientID].ClientID != "":
			return nil, fmt.Errorf("honor.apps[%d].client_id: %q listed twice", i, a.ClientID)
		}
		c.byClient[a.ClientID] = a
	}
	return c, nil
}

func genHonorCreds(dir string) (GeneratedCreds, error) {
	app := honorApp{
		AppID:        "104" + huaweiDigits(6),
		ClientID:     fmt.Sprintf("%x", randomBytes(12)),
		ClientSecret: fmt.Sprintf("%x", randomBytes(24)),
	}
	file := filepath.Join(dir, honorSecretFile)
	if err := os.WriteFile(file, []byte(app.ClientSecret), 0o600); err != nil {
		return GeneratedCreds{}, fmt.Errorf("honor: write secret: %w", err)
	}
	return GeneratedCreds{
		Section: honorSection{Apps: []honorApp{app}},
		Fields: map[string]string{"app_id": app.AppID, "client_id": app.ClientID,
			"client_secret": app.ClientSecret},
	}, nil
}

// honorAnswer is what the emulator decided: HTTP status, code and the
// per-token lists of a code-200 answer.
type honorAnswer struct {
	status     int
	code       int
	message    string
	expired    []string
	failed     []string
	retryAfter bool
	hang       bool
}

func honorError(status int, code string, message string) honorAnswer {
	n, _ := strconv.Atoi(code)
	return honorAnswer{status: status, code: n, message: message}
}

// honorMagic are Honor's answers to the magic tokens (VENDORS.md §4):
// dead in expireTokens; flaky's first attempt in failTokens (treat as:
// Honor's per-token transient failure, retryable by §1.8, where a 503
// would read as throttled); throttle 429; fail 500.
var honorMagic = MagicAnswers[honorAnswer]{
	Dead:     honorAnswer{status: 200, code: honorOK, message: "success"},
	BadDev:   honorAnswer{status: 200, code: honorOK, message: "success"},
	Throttle: honorAnswer{status: 429, code: 429, message: "too many requests", retryAfter: true},
	Fail:     honorAnswer{status: 500, code: 500, message: "internal error"},
	Flaky:    honorAnswer{status: 200, code: honorOK, message: "success"},
}

// honorServer answers Honor's token and send APIs on one listener.
type honorServer struct {
	env    *VendorEnv
	creds  *honorCreds
	tokens *hwTokens
}

func newHonorServer(env *VendorEnv, creds any) (http.Handler, error) {
	c, ok := creds.(*honorCreds)
	if !ok {
		return nil, errors.New("honor: unexpected credentials type")
	}
	return &honorServer{env: env, creds: c, tokens: newHWTokens(env, c.ttl)}, nil
}

// honorSendPath matches /api/v1/<app_id>/sendMessage.
var honorSendPath = regexp.MustCompile(`^/api/v1/([^/]+)/sendMessage$`)

func (hs *honorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == honorTokenPath {
		hwServeToken(hs.env, hs.tokens, w, r, func(id string) (string, bool) {
			a, ok := hs.creds.byClient[id]
			return a.ClientSecret, ok
		})
		return
	}

	x := hs.env.Begin(r)
	ans, delay := hs.decide(r, x)
	if ans.hang || !x.Delay(r.Context(), delay) {
		x.Hang(r.Context())
		x.Finish(0, codeHang, OutcomeRetryable)
		panic(http.ErrAbortHandler)
	}
	x.Finish(ans.status, strconv.Itoa(ans.code), honorOutcome(ans, x.Record.Token))
	hs.write(w, ans)
}

// write sends the answer as Honor does: code 200 with the token lists in
// data, else the error code and message.
func (hs *honorServer) write(w http.ResponseWriter, ans honorAnswer) {
	if ans.retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	reply := map[string]any{"code": ans.code, "message": ans.message}
	if ans.code == honorOK {
		reply["data"] = map[string]any{"sendResult": len(ans.expired)+len(ans.failed) == 0,
			"requestId": newUUID(), "failTokens": honorList(ans.failed),
			"expireTokens": honorList(ans.expired)}
	}
	WriteJSON(w, ans.status, reply)
}

func honorList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// honorOutcome is the class the answer means for the recorded token.
func honorOutcome(ans honorAnswer, token string) string {
	if ans.code == honorOK {
		for _, t := range ans.expired {
			if t == token {
				return OutcomeTokenInvalid
			}
		}
		for _, t := range ans.failed {
			if t == token {
				return OutcomeRetryable
			}
		}
		return OutcomeDelivered
	}
	if o, ok := huaweiOutcomes[strconv.Itoa(ans.code)]; ok {
		return o
	}
	switch {
	case ans.status == 429 || ans.status == 503:
		return OutcomeThrottled
	case ans.status >= 500:
		return OutcomeRetryable
	case ans.status == 401 || ans.status == 403:
		return OutcomeCredentialError
	}
	return OutcomePayloadError
}

// honorRequest is the part of a send body the emulator checks.
type honorRequest struct {
	Token   []string        `json:"token"`
	Data    json.RawMessage `json:"data"`
	Android *struct {
		TTL            *string `json:"ttl"`
		TargetUserType *int    `json:"targetUserType"`
		Notification   *struct {
			Title       *string        `json:"title"`
			Body        *string        `json:"body"`
			ClickAction *hwClickAction `json:"clickAction"`
			Importance  string         `json:"importance"`
			Badge       *struct {
				BadgeClass string `json:"badgeClass"`
				SetNum     *int   `json:"setNum"`
			} `json:"badge"`
		} `json:"notification"`
	} `json:"android"`
}

// decide checks a send in Honor's order: path, body, bearer, app,
// timestamp, injected faults, magic tokens, then the payload.
func (hs *honorServer) decide(r *http.Request, x *Exchange) (honorAnswer, time.Duration) {
	m := honorSendPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		return honorError(404, hwBadParams, "unknown path"), 0
	}
	body, err := ReadBody(r, huaweiMaxBody)
	if err != nil {
		return honorError(400, hwTooLarge, "message body too large"), 0
	}
	var req honorRequest
	decodeErr := DecodeJSON(body, &req)
	rec := &x.Record
	rec.Payload = RecordPayload(body)
	if len(req.Token) > 0 {
		rec.Token = req.Token[0]
	}
	rec.Attempt = hs.env.Attempts().Next(rec.Token, body)

	if ans, ok := hs.authorize(r, m[1], rec); !ok {
		return ans, 0
	}
	switch x.Fault.ErrorKind {
	case ErrorKindTransient:
		return honorMagic.Fail, 0
	case ErrorKindThrottle:
		return honorMagic.Throttle, 0
	}
	mm := honorMagic.Match(rec.Token, rec.Attempt)
	switch {
	case mm.Hang:
		return honorAnswer{hang: true}, 0
	case mm.Scripted && mm.Prefix == MagicFlaky:
		ans := mm.Answer
		ans.failed = []string{rec.Token}
		return ans, 0
	case mm.Scripted && !hwDeadMagic(mm.Prefix):
		return mm.Answer, 0
	}

	if decodeErr != nil {
		return honorError(400, hwBadStructure, "bad message structure"), mm.Delay
	}
	if ans, ok := checkHonorPayload(req, body); !ok {
		return ans, mm.Delay
	}
	ans := honorAnswer{status: 200, code: honorOK, message: "success"}
	for _, t := range req.Token {
		if hwDeadMagic(MagicOf(t)) {
			ans.expired = append(ans.expired, t)
		}
	}
	return ans, mm.Delay
}

// authorize checks the bearer token, that its app is the path's app, and
// the timestamp header.
func (hs *honorServer) authorize(r *http.Request, appID string, rec *Record) (honorAnswer, bool) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	client, state := hs.tokens.Check(bearer)
	app := hs.creds.byClient[client]
	rec.Auth = RecordAuth{Scheme: "bearer", Subject: client}
	rec.App = app.AppID
	switch {
	case state == TokenUnknown:
		return honorError(401, hwAuthUnknown, "access token is invalid"), false
	case state == TokenExpired:
		return honorError(401, hwAuthExpired, "access token expired"), false
	case app.AppID != appID:
		return honorError(403, hwNoPermission, "no permission for this app"), false
	}
	if _, err := strconv.ParseInt(r.Header.Get("timestamp"), 10, 64); err != nil {
		return honorError(400, hwBadParams, "timestamp header is required"), false
	}
	return honorAnswer{}, true
}

// checkHonorPayload applies the rules of VENDORS.md §2.4 (as huawei's).
func checkHonorPayload(req honorRequest, body []byte) (honorAnswer, bool) {
	bad := func(code, msg string) (honorAnswer, bool) {
		return honorError(400, code, msg), false
	}
	switch n := len(req.Token); {
	case n == 0:
		return bad(hwBadParams, "token is required")
	case n > huaweiMaxTokens:
		return bad(hwTooManyTokens, "too many tokens")
	}
	if len(req.Data) > 0 && req.Data[0] != '"' {
		return bad(hwBadStructure, "data must be a string")
	}
	if hwSizeWithoutTokens(body, func(v map[string]any) { delete(v, "token") }) >
		huaweiMaxPayload {
		return bad(hwTooLarge, "message body size exceeds 4096 bytes")
	}
	a := req.Android
	if a == nil {
		return honorAnswer{}, true
	}
	switch {
	case a.TTL != nil && !hwValidTTL(*a.TTL):
		return bad(hwBadTTL, "ttl must be at most 1296000s")
	case a.TargetUserType != nil && *a.TargetUserType != 0 && *a.TargetUserType != 1:
		return bad(hwBadParams, "targetUserType must be 0 or 1")
	}
	n := a.Notification
	switch {
	case n == nil:
		return honorAnswer{}, true
	case n.ClickAction == nil || !n.ClickAction.valid():
		return bad(hwBadStructure, "clickAction is required with a valid type")
	case n.Title == nil || n.Body == nil:
		return bad(hwBadStructure, "title and body are required")
	case n.Importance != "" && n.Importance != "NORMAL" && n.Importance != "LOW":
		return bad(hwBadParams, "importance must be NORMAL or LOW")
	case n.Badge != nil && n.Badge.BadgeClass == "":
		return bad(hwBadStructure, "badgeClass is required")
	case n.Badge != nil && n.Badge.SetNum != nil && (*n.Badge.SetNum < 0 || *n.Badge.SetNum > 99):
		return bad(hwBadParams, "setNum must be 0 to 99")
	}
	return honorAnswer{}, true
}
