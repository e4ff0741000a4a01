package vendorsim

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// VendorMeizu is the Meizu Push emulator's name (VENDORS.md §2.8).
const VendorMeizu = "meizu"

// meizuPushPath is the unicast-by-pushId path.
const meizuPushPath = "/garcia/api/server/push/varnished/pushByPushId"

// Meizu limits (VENDORS.md §2.8).
const (
	meizuMaxBody    = 64 << 10
	meizuMaxPushIDs = 1000
	meizuTitleMax   = 32
	meizuContentMax = 100
	meizuMaxValid   = 72
)

// Meizu answer codes, strings on the wire (VENDORS.md §1.8, §4).
const (
	meizuOK          = "200"
	meizuBusy        = "1001"
	meizuThrottled   = "1003"
	meizuBadParam    = "1005"
	meizuBadSign     = "1006"
	meizuBadAppID    = "110000"
	meizuBadPushIDs  = "110004"
	meizuDeadPushIDs = "110003"
)

func init() {
	RegisterVendor(VendorSpec{
		Name: VendorMeizu, HTTP1: true, MaxStreams: 1000,
		Hosts:     []string{"server-api-push.meizu.com"},
		LoadCreds: loadMeizuCreds,
		NewHandler: func(env *VendorEnv, creds any) (http.Handler, error) {
			return &meizuServer{env: env, apps: creds.(map[string]meizuApp)}, nil
		},
		GenCreds: genMeizuCreds,
	})
}

// meizuSection is the meizu section of vendorsim.yaml.
type meizuSection struct {
	Apps []meizuApp `yaml:"apps"`
}

type meizuApp struct {
	AppID       string `yaml:"app_id"`
	AppSecret   string `yaml:"app_secret"`
	PackageName string `yaml:"package_name"`
}

func loadMeizuCreds(node *yaml.Node) (any, error) {
	var sec meizuSection
	if node != nil {
		if err := node.Decode(&sec); err != nil {
			return nil, fmt.Errorf("meizu: %w", err)
		}
	}
	apps := map[string]meizuApp{}
	for i, a := range sec.Apps {
		switch {
		case a.AppID == "":
			return nil, fmt.Errorf("meizu.apps[%d].app_id: empty", i)
		case a.AppSecret == "":
			return nil, fmt.Errorf("meizu.apps[%d].app_secret: empty", i)
		}
		apps[a.AppID] = a
	}
	return apps, nil
}

// genMeizuCreds makes one app with a numeric id and a hex secret.
func genMeizuCreds(dir string) (GeneratedCreds, error) {
	app := meizuApp{
		AppID:       strconv.Itoa(110000 + int(randomBytes(1)[0])*100 + int(randomBytes(1)[0])%100),
		AppSecret:   hex.EncodeToString(randomBytes(16)),
		PackageName: "com.example.herald",
	}
	if err := os.WriteFile(filepath.Join(dir, "meizu.secret"), []byte(app.AppSecret),
		0o600); err != nil {
		return GeneratedCreds{}, fmt.Errorf("write meizu secret: %w", err)
	}
	return GeneratedCreds{
		Section: meizuSection{Apps: []meizuApp{app}},
		Fields: map[string]string{"app_id": app.AppID, "app_secret": app.AppSecret,
			"package_name": app.PackageName},
	}, nil
}

// meizuServer answers pushByPushId as Meizu does: always HTTP 200 with a
// string code, failed pushIds listed in value by failure code.
type meizuServer struct {
	env  *VendorEnv
	apps map[string]meizuApp
}

// meizuAnswer is one answer.
type meizuAnswer struct {
	code    string
	message string
	value   map[string][]string
	outcome string
}

func meizuRefused(code, message, outcome string) meizuAnswer {
	return meizuAnswer{code: code, message: message, outcome: outcome}
}

// meizuMagic are Meizu's answers to the magic tokens; dead pushIds are
// listed in value when the answer is built.
var meizuMagic = MagicAnswers[meizuAnswer]{
	Dead:     meizuAnswer{code: meizuOK, outcome: OutcomeTokenInvalid},
	BadDev:   meizuAnswer{code: meizuOK, outcome: OutcomeTokenInvalid},
	Throttle: meizuRefused(meizuThrottled, "push too frequently", OutcomeThrottled),
	Fail:     meizuRefused(meizuBusy, "server busy", OutcomeRetryable),
	Flaky:    meizuRefused(meizuBusy, "server busy", OutcomeRetryable),
}

func (s *meizuServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path != meizuPushPath:
		WriteJSON(w, http.StatusNotFound, map[string]any{"code": "404", "message": "not found"})
	case r.Method != http.MethodPost:
		WriteJSON(w, http.StatusMethodNotAllowed, map[string]any{"code": "405",
			"message": "method not allowed"})
	default:
		s.push(w, r)
	}
}

func (s *meizuServer) push(w http.ResponseWriter, r *http.Request) {
	x := s.env.Begin(r)
	body, err := ReadBody(r, meizuMaxBody)
	form := url.Values{}
	if err == nil {
		form, err = ParseForm(body)
	}
	pushIDs := form.Get("pushIds")
	x.Record.Token, x.Record.App = pushIDs, form.Get("appId")
	x.Record.Payload = RecordForm(form)
	x.Record.Attempt = s.env.Attempts().Next(pushIDs, []byte(form.Get("messageJson")))

	ans, magic := s.decide(x, form, err)
	hang, delay := magic.Hang, magic.Delay
	if ans.outcome != OutcomeDelivered {
		hang, delay = false, 0
	}
	if hang || !x.Delay(r.Context(), delay) {
		x.Hang(r.Context())
		x.Finish(0, codeHang, OutcomeRetryable)
		panic(http.ErrAbortHandler)
	}

	x.Finish(http.StatusOK, ans.code, ans.outcome)
	value := ans.value
	if value == nil {
		value = map[string][]string{}
	}
	reply := map[string]any{"code": ans.code, "message": ans.message, "value": value,
		"redirect": "", "msgId": ""}
	if ans.code == meizuOK {
		reply["msgId"] = "NS" + hex.EncodeToString(randomBytes(10))
	}
	WriteJSON(w, http.StatusOK, reply)
}

// decide applies, in order: app and sign, injected faults, magic tokens
// and payload checks. It also returns the magic match of the first
// pushId, for slow and hang tokens.
func (s *meizuServer) decide(x *Exchange, form url.Values, formErr error) (
	meizuAnswer, MagicMatch[meizuAnswer]) {

	ids := splitPushIDs(form.Get("pushIds"))
	var first MagicMatch[meizuAnswer]
	if len(ids) > 0 {
		first = meizuMagic.Match(ids[0], x.Record.Attempt)
	}
	if formErr != nil {
		return meizuRefused(meizuBadParam, "request body is not a form", OutcomePayloadError),
			first
	}

	app, ok := s.apps[form.Get("appId")]
	if !ok {
		return meizuRefused(meizuBadAppID, "appId is not valid", OutcomeCredentialError), first
	}
	x.Record.Auth = RecordAuth{Scheme: "sign", Subject: app.AppID}
	if !strings.EqualFold(form.Get("sign"), meizuSign(form, app.AppSecret)) {
		return meizuRefused(meizuBadSign, "sign is not valid", OutcomeCredentialError), first
	}

	switch x.Fault.ErrorKind {
	case ErrorKindTransient:
		return meizuRefused(meizuBusy, "server busy", OutcomeRetryable), first
	case ErrorKindThrottle:
		return meizuRefused(meizuThrottled, "push too frequently", OutcomeThrottled), first
	}
	if ans, scripted := meizuScripted(ids, x.Record.Attempt); scripted {
		return ans, first
	}

	if len(ids) == 0 || len(ids) > meizuMaxPushIDs {
		return meizuRefused(meizuBadPushIDs, "pushIds must list 1 to 1000 ids",
			OutcomePayloadError), first
	}
	if msg := meizuCheck(form.Get("messageJson")); msg != "" {
		return meizuRefused(meizuBadParam, msg, OutcomePayloadError), first
	}
	return meizuAnswer{code: meizuOK, outcome: OutcomeDelivered}, first
}

// meizuScripted combines the magic answers of several pushIds as Meizu
// would: dead ones are listed under 110003 of a "200" answer, and the
// first busy or throttled one answers for the whole request.
func meizuScripted(ids []string, attempt int) (meizuAnswer, bool) {
	var dead []string
	for _, id := range ids {
		m := meizuMagic.Match(id, attempt)
		if !m.Scripted {
			continue
		}
		if m.Answer.code != meizuOK {
			return m.Answer, true
		}
		dead = append(dead, id)
	}
	if len(dead) == 0 {
		return meizuAnswer{}, false
	}
	outcome := OutcomeTokenInvalid
	if len(dead) < len(ids) {
		outcome = OutcomeDelivered // the others went through
	}
	return meizuAnswer{code: meizuOK, outcome: outcome,
		value: map[string][]string{meizuDeadPushIDs: dead}}, true
}

func splitPushIDs(s string) []string {
	var out []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// meizuSign is MD5 of the parameters but sign as key=value sorted by key,
// no separators, then the secret; lowercase hex.
func meizuSign(form url.Values, secret string) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + form.Get(k))
	}
	sum := md5.Sum([]byte(b.String() + secret))
	return hex.EncodeToString(sum[:])
}

// meizuMessage is messageJson as the emulator checks it.
type meizuMessage struct {
	NoticeBarInfo *struct {
		NoticeBarType int    `json:"noticeBarType"`
		Title         string `json:"title"`
		Content       string `json:"content"`
		NoticeMsgType int    `json:"noticeMsgType"`
	} `json:"noticeBarInfo"`
	ClickTypeInfo struct {
		ClickType  int            `json:"clickType"`
		Activity   string         `json:"activity"`
		URL        string         `json:"url"`
		Parameters map[string]any `json:"parameters"`
	} `json:"clickTypeInfo"`
	PushTimeInfo struct {
		OffLine   int `json:"offLine"`
		ValidTime int `json:"validTime"`
	} `json:"pushTimeInfo"`
}

// meizuCheck names what is wrong with messageJson, "" when nothing is.
func meizuCheck(text string) string {
	var m meizuMessage
	if text == "" || DecodeJSON([]byte(text), &m) != nil {
		return "messageJson is not valid json"
	}
	n, c, p := m.NoticeBarInfo, m.ClickTypeInfo, m.PushTimeInfo
	switch {
	case n == nil:
		return "noticeBarInfo is required"
	case n.NoticeBarType != 0:
		return "noticeBarInfo.noticeBarType must be 0"
	case n.Title == "" || utf8.RuneCountInString(n.Title) > meizuTitleMax:
		return "noticeBarInfo.title is empty or too long"
	case n.Content == "" || utf8.RuneCountInString(n.Content) > meizuContentMax:
		return "noticeBarInfo.content is empty or too long"
	case n.NoticeMsgType != 0 && n.NoticeMsgType != 1:
		return "noticeBarInfo.noticeMsgType must be 0 or 1"
	case c.ClickType < 0 || c.ClickType > 3:
		return "clickTypeInfo.clickType must be 0 to 3"
	case c.ClickType == 1 && c.Activity == "":
		return "clickTypeInfo.activity is required for clickType 1"
	case c.ClickType == 2 && c.URL == "":
		return "clickTypeInfo.url is required for clickType 2"
	case p.OffLine != 0 && p.OffLine != 1:
		return "pushTimeInfo.offLine must be 0 or 1"
	case p.OffLine == 1 && (p.ValidTime < 1 || p.ValidTime > meizuMaxValid):
		return "pushTimeInfo.validTime must be 1 to 72"
	}
	for k, v := range c.Parameters {
		if _, ok := v.(string); !ok {
			return "clickTypeInfo.parameters." + k + " must be a string"
		}
	}
	return ""
}
