package honor

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

func testCreds() *Credentials {
	return &Credentials{AppID: "104000", ClientID: "cid", ClientSecret: "s3cret"}
}

func testNote() *messages.Notification {
	return &messages.Notification{
		Title: "Alice", Body: "hello", HasBadge: true, Badge: 3,
		CollapseKey: "m1", Custom: []byte(`{"f":"alice","t":"bob","m":"m1"}`),
	}
}

func decoded(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	return v
}

func path(v map[string]any, keys ...string) any {
	var cur any = v
	for _, k := range keys {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	return cur
}

func TestBuildBodyDefaults(t *testing.T) {
	body, err := BuildBody(testNote(), testCreds(), "tok1")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"token":["tok1"],"data":"{\"f\":\"alice\",\"t\":\"bob\",\"m\":\"m1\"}",` +
		`"android":{"ttl":"86400s","targetUserType":0,"notification":{"title":"Alice",` +
		`"body":"hello","clickAction":{"type":3},"importance":"NORMAL","tag":"m1"}}}`
	if string(body) != want {
		t.Errorf("BuildBody =\n%s\nwant\n%s", body, want)
	}
}

func TestBuildBodyOptions(t *testing.T) {
	creds := testCreds()
	creds.BadgeClass, creds.ClickAction = "com.x.Main", "com.x.OPEN"
	tests := []struct {
		name  string
		ext   string
		creds func(c *Credentials)
		keys  []string
		want  any
	}{
		{"importance low", `{"honor_importance":"LOW"}`, nil,
			[]string{"android", "notification", "importance"}, "LOW"},
		{"importance unknown stays normal", `{"honor_importance":"HIGH"}`, nil,
			[]string{"android", "notification", "importance"}, "NORMAL"},
		{"target user type", `{"honor_target_user_type":1}`, nil,
			[]string{"android", "targetUserType"}, 1.0},
		{"badge", ``, nil, []string{"android", "notification", "badge"},
			map[string]any{"badgeClass": "com.x.Main", "setNum": 3.0}},
		{"legacy badge class", `{"em_huawei_push_badge_class":"com.y.Home"}`, nil,
			[]string{"android", "notification", "badge", "badgeClass"}, "com.y.Home"},
		{"no badge without class", ``, func(c *Credentials) { c.BadgeClass = "" },
			[]string{"android", "notification", "badge"}, nil},
		{"notifier click action", ``, nil,
			[]string{"android", "notification", "clickAction"},
			map[string]any{"type": 1.0, "action": "com.x.OPEN"}},
		{"ext url click action", `{"honor_click_action":"https://x.example/a"}`, nil,
			[]string{"android", "notification", "clickAction"},
			map[string]any{"type": 2.0, "url": "https://x.example/a"}},
		{"ext object click action", `{"honor_click_action":{"type":1,"intent":"I"}}`, nil,
			[]string{"android", "notification", "clickAction"},
			map[string]any{"type": 1.0, "intent": "I"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *creds
			if tt.creds != nil {
				tt.creds(&c)
			}
			n := testNote()
			n.AndroidExt = []byte(tt.ext)
			body, err := BuildBody(n, &c, "tok1")
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(path(decoded(t, body), tt.keys...))
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("%v = %s, want %s", tt.keys, gotJSON, wantJSON)
			}
		})
	}
}

func TestBuildBodyLimits(t *testing.T) {
	n := testNote()
	n.Body = strings.Repeat("消", 2000)
	body, err := BuildBody(n, testCreds(), "tok1")
	if err != nil {
		t.Fatal(err)
	}
	tok := `"token":["tok1"],`
	if size := len(body) - len(tok); size > MaxPayload {
		t.Errorf("size without token = %d, want <= %d", size, MaxPayload)
	}
	text := path(decoded(t, body), "android", "notification", "body").(string)
	if !utf8.ValidString(text) || text == "" || len(text) >= len(n.Body) {
		t.Errorf("content len %d, want cut at a character boundary", len(text))
	}

	n = testNote()
	n.Custom = []byte(`{"e":"` + strings.Repeat("x", MaxPayload) + `"}`)
	if _, err := BuildBody(n, testCreds(), "tok1"); !errors.Is(err, vendors.ErrPayloadTooLarge) {
		t.Errorf("huge custom: %v, want ErrPayloadTooLarge", err)
	}
}

func TestParseCredentials(t *testing.T) {
	for _, missing := range []string{"app_id", "client_id", "client_secret"} {
		f := map[string]string{"app_id": "1", "client_id": "c", "client_secret": "s"}
		delete(f, missing)
		_, err := ParseCredentials(f)
		var fe *vendors.FieldError
		if !errors.As(err, &fe) || fe.Field != "credentials."+missing {
			t.Errorf("without %s: %v", missing, err)
		}
	}
}

// TestClassify covers every honor row of VENDORS.md §1.8.
func TestClassify(t *testing.T) {
	ok := `{"code":200,"message":"success","data":{"requestId":"r",` +
		`"failTokens":["F"],"expireTokens":["E"]}}`
	tests := []struct {
		status int
		body   string
		token  string
		want   vendors.Class
	}{
		{200, ok, "T", vendors.Delivered},
		{200, ok, "E", vendors.TokenInvalid},
		{200, ok, "F", vendors.Retryable},
		{500, `{"code":500}`, "T", vendors.Retryable},
		{502, ``, "T", vendors.Retryable},
		{429, `{"code":429}`, "T", vendors.Throttled},
		{503, ``, "T", vendors.Throttled},
		{401, `{"code":80200001}`, "T", vendors.CredentialError},
		{401, ``, "T", vendors.CredentialError},
		{403, ``, "T", vendors.CredentialError},
		{403, `{"code":80300002}`, "T", vendors.CredentialError},
		{400, `{"code":80100003}`, "T", vendors.PayloadError},
		{400, `{"code":80300008}`, "T", vendors.PayloadError},
		{200, `{"code":80300007}`, "T", vendors.TokenInvalid},
		{200, `{"code":81000001}`, "T", vendors.Retryable},
		{400, `{"code":12345}`, "T", vendors.PayloadError},
	}
	for _, tt := range tests {
		a, code := parseAnswer([]byte(tt.body))
		got := Classify(tt.status, code, a.Data.ExpireTokens, a.Data.FailTokens, tt.token)
		if got != tt.want {
			t.Errorf("Classify(%d, %s, %s) = %v, want %v", tt.status, tt.body, tt.token,
				got, tt.want)
		}
	}
}
