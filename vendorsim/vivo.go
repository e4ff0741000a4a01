package vendorsim

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// VendorVivo is the vivo Push emulator's name (VENDORS.md §2.7).
const VendorVivo = "vivo"

// vivo paths, both on the one listener.
const (
	vivoAuthPath = "/message/auth"
	vivoSendPath = "/message/send"
)

// vivo limits and defaults (VENDORS.md §2.7).
const (
	vivoMaxBody       = 16 << 10
	vivoTitleUnits    = 40
	vivoContentUnits  = 100
	vivoMinTTL        = 900
	vivoMaxTTL        = 7 * 86400
	vivoMaxRequestID  = 64
	vivoMaxCustom     = 10
	vivoMaxCustomText = 1024
	vivoClockSkew     = 10 * time.Minute
	vivoTokenTTL      = 24 * time.Hour
)

// vivo result codes. 0, 10000, 10070, 10094 and 10302 are the ones of
// VENDORS.md §1.8; the 1005x codes for a refused field are the
// emulator's own (treat as: vivo refuses a bad field with a code of its
// own and Herald classes every unlisted code as a payload error).
const (
	vivoOK           = 0
	vivoAuthRefused  = 10000
	vivoDailyCap     = 10070
	vivoAppMismatch  = 10094
	vivoBadRegID     = 10302
	vivoBadBody      = 10050
	vivoBadTitle     = 10051
	vivoBadContent   = 10052
	vivoBadNotify    = 10053
	vivoBadTTL       = 10054
	vivoBadSkip      = 10055
	vivoBadClass     = 10056
	vivoBadCategory  = 10057
	vivoBadRequestID = 10058
	vivoBadPushMode  = 10059
	vivoBadCustom    = 10060
)

// vivoCategories are the message categories vivo accepts.
var vivoCategories = map[string]bool{
	"IM": true, "ACCOUNT": true, "TODO": true, "DEVICE_REMINDER": true, "ORDER": true,
	"SUBSCRIPTION": true, "NEWS": true, "CONTENT": true, "MARKETING": true, "SOCIAL": true,
}

func init() {
	RegisterVendor(VendorSpec{
		Name: VendorVivo, HTTP1: true, MaxStreams: 1000,
		Hosts:     []string{"api-push.vivo.com.cn"},
		LoadCreds: loadVivoCreds,
		NewHandler: func(env *VendorEnv, creds any) (http.Handler, error) {
			return newVivoServer(env, creds.(*vivoCreds)), nil
		},
		GenCreds: genVivoCreds,
	})
}

// vivoSection is the vivo section of vendorsim.yaml.
type vivoSection struct {
	Apps []vivoApp `yaml:"apps"`
	// TokenTTL is the authToken lifetime; 0 is vivo's 24 h.
	TokenTTL Duration `yaml:"token_ttl,omitempty"`
	// DailyQuota caps accepted pushes per app per Asia/Shanghai day;
	// 0 = no cap. Over it vivo answers 10070.
	DailyQuota int `yaml:"daily_quota,omitempty"`
}

type vivoApp struct {
	AppID       string `yaml:"app_id"`
	AppKey      string `yaml:"app_key"`
	AppSecret   string `yaml:"app_secret"`
	PackageName string `yaml:"package_name"`
}

type vivoCreds struct {
	apps       map[string]vivoApp // by app id
	tokenTTL   time.Duration
	dailyQuota int
}

func loadVivoCreds(node *yaml.Node) (any, error) {
	var sec vivoSection
	if node != nil {
		if err := node.Decode(&sec); err != nil {
			return nil, fmt.Errorf("vivo: %w", err)
		}
	}
	c := &vivoCreds{apps: map[string]vivoApp{}, tokenTTL: time.Duration(sec.TokenTTL),
		dailyQuota: sec.DailyQuota}
	if c.tokenTTL <= 0 {
		c.tokenTTL = vivoTokenTTL
	}
	if sec.DailyQuota < 0 {
		return nil, fmt.Errorf("vivo.daily_quota: %d is negative", sec.DailyQuota)
	}
	for i, a := range sec.Apps {
		switch {
		case a.AppID == "":
			return nil, fmt.Errorf("vivo.apps[%d].app_id: empty", i)
		case a.AppKey == "":
			return nil, fmt.Errorf("vivo.apps[%d].app_key: empty", i)
		case a.AppSecret == "":
			return nil, fmt.Errorf("vivo.apps[%d].app_secret: empty", i)
		}
		c.apps[a.AppID] = a
	}
	return c, nil
}

// genVivoCreds makes one app with vivo-shaped ids: a numeric app id and
// hex key and secret.
func genVivoCreds(dir string) (GeneratedCreds, error) {
	app := vivoApp{
		AppID:       strconv.Itoa(100000 + int(randomBytes(2)[0])*256 + int(randomBytes(1)[0])),
		AppKey:      hex.EncodeToString(randomBytes(16)),
		AppSecret:   hex.EncodeToString(randomBytes(16)),
		PackageName: "com.example.herald",
	}
	if err := os.WriteFile(filepath.Join(dir, "vivo.secret"), []byte(app.AppSecret),
		0o600); err != nil {
		return GeneratedCreds{}, fmt.Errorf("write vivo secret: %w", err)
	}
	return GeneratedCreds{
		Section: vivoSection{Apps: []vivoApp{app}},
		Fields: map[string]string{"app_id": app.AppID, "app_key": app.AppKey,
			"app_secret": app.AppSecret, "package_name": app.PackageName},
	}, nil
}

// vivoServer answers /message/auth and /message/send as vivo does.
type vivoServer struct {
	env    *VendorEnv
	creds  *vivoCreds
	tokens *TokenIssuer
	quota  *dailyQuota
}

func newVivoServer(env *VendorEnv, creds *vivoCreds) *vivoServer {
	return &vivoServer{env: env, creds: creds, tokens: env.NewTokenIssuer(creds.tokenTTL),
		quota: newDailyQuota(creds.dailyQuota)}
}

// Reset forgets the daily counts.
func (s *vivoServer) Reset() { s.quota.reset() }

// vivoAnswer is one answer: HTTP status, vivo result and desc.
type vivoAnswer struct {
	status     int
	result     int
	desc       string
	outcome    string
	retryAfter bool
}

// vivoMagic are vivo's answers to the magic tokens (VENDORS.md §4).
var vivoMagic = MagicAnswers[vivoAnswer]{
	Dead:     vivoAnswer{200, vivoBadRegID, "regId is invalid", OutcomeTokenInvalid, false},
	BadDev:   vivoAnswer{200, vivoBadRegID, "regId is invalid", OutcomeTokenInvalid, false},
	Throttle: vivoAnswer{429, 0, "too many requests", OutcomeThrottled, true},
	Fail:     vivoAnswer{500, 0, "internal error", OutcomeRetryable, false},
	Flaky:    vivoAnswer{503, 0, "service unavailable", OutcomeRetryable, true},
}

func vivoRefused(result int, desc string) vivoAnswer {
	outcome := OutcomePayloadError
	switch result {
	case vivoAuthRefused, vivoAppMismatch:
		outcome = OutcomeCredentialError
	case vivoDailyCap:
		outcome = OutcomeThrottled
	}
	return vivoAnswer{status: 200, result: result, desc: desc, outcome: outcome}
}

func (s *vivoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != http.MethodPost:
		WriteJSON(w, http.StatusMethodNotAllowed, map[string]any{"result": 405,
			"desc": "method not allowed"})
	case r.URL.Path == vivoAuthPath:
		s.auth(w, r)
	case r.URL.Path == vivoSendPath:
		s.send(w, r)
	default:
		WriteJSON(w, http.StatusNotFound, map[string]any{"result": 404, "desc": "not found"})
	}
}

// auth issues an authToken for a correctly signed, fresh request.
func (s *vivoServer) auth(w http.ResponseWriter, r *http.Request) {
	s.env.CountTokenFetch()
	refuse := func(result int, desc string) {
		WriteJSON(w, http.StatusOK, map[string]any{"result": result, "desc": desc})
	}
	body, err := ReadBody(r, 4096)
	var req struct {
		AppID     json.RawMessage `json:"appId"`
		AppKey    string          `json:"appKey"`
		Timestamp int64           `json:"timestamp"`
		Sign      string          `json:"sign"`
	}
	if err != nil || DecodeJSON(body, &req) != nil {
		refuse(vivoAuthRefused, "request body is not valid json")
		return
	}

	appID := vivoAppID(req.AppID)
	app, ok := s.creds.apps[appID]
	now := s.env.Now()
	ts := time.UnixMilli(req.Timestamp)
	switch {
	case !ok:
		refuse(vivoAppMismatch, "appId is not valid")
	case req.AppKey != app.AppKey:
		refuse(vivoAuthRefused, "appKey is not valid")
	case ts.Before(now.Add(-vivoClockSkew)) || ts.After(now.Add(vivoClockSkew)):
		refuse(vivoAuthRefused, "timestamp is expired")
	case !strings.EqualFold(req.Sign, vivoSign(app, req.Timestamp)):
		refuse(vivoAuthRefused, "sign is not valid")
	default:
		tok, _ := s.tokens.Issue(appID)
		WriteJSON(w, http.StatusOK, map[string]any{"result": vivoOK, "desc": "请求成功",
			"authToken": tok})
	}
}

// vivoSign is MD5(appId + appKey + timestamp + appSecret), lowercase hex.
func vivoSign(app vivoApp, ts int64) string {
	sum := md5.Sum([]byte(app.AppID + app.AppKey + strconv.FormatInt(ts, 10) + app.AppSecret))
	return hex.EncodeToString(sum[:])
}

// vivoAppID reads an appId sent as a JSON string or number.
func vivoAppID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// vivoMessage is the JSON body of /message/send.
type vivoMessage struct {
	AppID           json.RawMessage   `json:"appId"`
	RegID           string            `json:"regId"`
	NotifyType      int               `json:"notifyType"`
	Title           string            `json:"title"`
	Content         string            `json:"content"`
	TimeToLive      *int              `json:"timeToLive"`
	SkipType        int               `json:"skipType"`
	SkipContent     string            `json:"skipContent"`
	Classification  *int              `json:"classification"`
	Category        string            `json:"category"`
	RequestID       string            `json:"requestId"`
	PushMode        int               `json:"pushMode"`
	ClientCustomMap map[string]string `json:"clientCustomMap"`
}

// send answers one push.
func (s *vivoServer) send(w http.ResponseWriter, r *http.Request) {
	x := s.env.Begin(r)
	if _, ok := x.Record.Headers["authtoken"]; ok {
		x.Record.Headers["authtoken"] = "***"
	}
	body, err := ReadBody(r, vivoMaxBody)
	var msg vivoMessage
	decodeErr := err
	if err == nil {
		decodeErr = DecodeJSON(body, &msg)
	}
	appID := vivoAppID(msg.AppID)
	x.Record.Token, x.Record.App = msg.RegID, appID
	x.Record.Payload = RecordPayload(body)
	x.Record.Attempt = s.env.Attempts().Next(msg.RegID, body)

	subject, state := s.tokens.Check(r.Header.Get("authToken"))
	x.Record.Auth = RecordAuth{Scheme: "authToken", Subject: subject}
	ans := s.decide(x, &msg, decodeErr, state, subject)

	// Slow and hang tokens act on answers that would succeed.
	m := vivoMagic.Match(msg.RegID, x.Record.Attempt)
	hang, delay := m.Hang, m.Delay
	if ans.outcome != OutcomeDelivered {
		hang, delay = false, 0
	}
	if hang || !x.Delay(r.Context(), delay) {
		x.Hang(r.Context())
		x.Finish(0, codeHang, OutcomeRetryable)
		panic(http.ErrAbortHandler)
	}
	s.answer(w, x, ans)
}

// decide applies, in order: auth, injected faults, magic tokens, payload
// checks and the daily quota.
func (s *vivoServer) decide(x *Exchange, msg *vivoMessage, decodeErr error,
	state TokenState, subject string) vivoAnswer {

	switch {
	case state == TokenUnknown:
		return vivoRefused(vivoAuthRefused, "authToken is not valid")
	case state == TokenExpired:
		return vivoRefused(vivoAuthRefused, "authToken is expired")
	case decodeErr != nil:
		return vivoRefused(vivoBadBody, "request body is not valid json")
	case vivoAppID(msg.AppID) != subject:
		return vivoRefused(vivoAppMismatch, "appId does not match the authToken")
	}

	switch x.Fault.ErrorKind {
	case ErrorKindTransient:
		return vivoAnswer{500, 0, "internal error", OutcomeRetryable, false}
	case ErrorKindThrottle:
		return vivoAnswer{429, 0, "too many requests", OutcomeThrottled, true}
	}
	if m := vivoMagic.Match(msg.RegID, x.Record.Attempt); m.Scripted {
		return m.Answer
	}

	if bad := vivoCheck(msg); bad.outcome != "" {
		return bad
	}
	if !s.quota.take(subject, s.env.Now()) {
		return vivoRefused(vivoDailyCap, "exceeded the daily push limit")
	}
	return vivoAnswer{status: 200, result: vivoOK, desc: "请求成功", outcome: OutcomeDelivered}
}

// vivoCheck refuses a message with a missing or out-of-range field.
func vivoCheck(m *vivoMessage) vivoAnswer {
	units := func(s string) int {
		n := 0
		for _, r := range s {
			n++
			if r >= 0x2E80 {
				n++
			}
		}
		return n
	}
	customText := 0
	for k, v := range m.ClientCustomMap {
		customText += utf8.RuneCountInString(k) + utf8.RuneCountInString(v)
	}

	switch {
	case m.RegID == "":
		return vivoRefused(vivoBadRegID, "regId is empty")
	case m.Title == "" || units(m.Title) > vivoTitleUnits:
		return vivoRefused(vivoBadTitle, "title is empty or too long")
	case m.Content == "" || units(m.Content) > vivoContentUnits:
		return vivoRefused(vivoBadContent, "content is empty or too long")
	case m.NotifyType < 1 || m.NotifyType > 4:
		return vivoRefused(vivoBadNotify, "notifyType must be 1 to 4")
	case m.TimeToLive != nil && (*m.TimeToLive < vivoMinTTL || *m.TimeToLive > vivoMaxTTL):
		return vivoRefused(vivoBadTTL, "timeToLive must be 900 s to 7 days")
	case m.SkipType < 1 || m.SkipType > 4:
		return vivoRefused(vivoBadSkip, "skipType must be 1 to 4")
	case m.SkipType != 1 && m.SkipContent == "":
		return vivoRefused(vivoBadSkip, "skipContent is required for this skipType")
	case m.Classification != nil && *m.Classification != 0 && *m.Classification != 1:
		return vivoRefused(vivoBadClass, "classification must be 0 or 1")
	case m.Category != "" && !vivoCategories[m.Category]:
		return vivoRefused(vivoBadCategory, "category is not valid")
	case m.RequestID == "" || len(m.RequestID) > vivoMaxRequestID:
		return vivoRefused(vivoBadRequestID, "requestId is empty or too long")
	case m.PushMode != 0 && m.PushMode != 1:
		return vivoRefused(vivoBadPushMode, "pushMode must be 0 or 1")
	case len(m.ClientCustomMap) > vivoMaxCustom || customText > vivoMaxCustomText:
		return vivoRefused(vivoBadCustom, "clientCustomMap is too large")
	}
	return vivoAnswer{}
}

// answer records and writes ans.
func (s *vivoServer) answer(w http.ResponseWriter, x *Exchange, ans vivoAnswer) {
	code := strconv.Itoa(ans.result)
	if ans.status != http.StatusOK {
		code = strconv.Itoa(ans.status)
	}
	x.Finish(ans.status, code, ans.outcome)

	if ans.retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	reply := map[string]any{"result": ans.result, "desc": ans.desc}
	if ans.status != http.StatusOK {
		reply["result"] = ans.status
	}
	if ans.outcome == OutcomeDelivered {
		reply["taskId"] = strconv.FormatUint(binary.BigEndian.Uint64(randomBytes(8))>>1, 10)
	}
	WriteJSON(w, ans.status, reply)
}

// dailyQuota counts accepted pushes per app per Asia/Shanghai day.
type dailyQuota struct {
	limit int // 0: no cap

	mu     sync.Mutex
	day    string
	counts map[string]int // guarded by mu
}

func newDailyQuota(limit int) *dailyQuota {
	return &dailyQuota{limit: limit, counts: map[string]int{}}
}

// shanghaiZone is China Standard Time; it has no daylight saving.
var shanghaiZone = time.FixedZone("Asia/Shanghai", 8*3600)

// take counts one push of app and reports false when the day's cap is
// already reached.
func (q *dailyQuota) take(app string, now time.Time) bool {
	if q.limit <= 0 {
		return true
	}
	day := now.In(shanghaiZone).Format(time.DateOnly)
	q.mu.Lock()
	defer q.mu.Unlock()
	if day != q.day {
		q.day = day
		clear(q.counts)
	}
	if q.counts[app] >= q.limit {
		return false
	}
	q.counts[app]++
	return true
}

func (q *dailyQuota) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.counts)
}
