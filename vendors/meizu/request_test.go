package meizu

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

func testCreds() *Credentials {
	return &Credentials{AppID: "110001", AppSecret: "s3cr3t", PackageName: "com.example"}
}

func TestBuildFormFields(t *testing.T) {
	n := &messages.Notification{
		Title: "您有一条新消息", Body: "请点击查看", HasBadge: true, Badge: 2, CollapseKey: "m1",
		Custom: []byte(`{"f":"alice","t":"bob","m":"m1","g":"g1","e":{"k":"v"}}`),
	}
	form, err := BuildForm(n, testCreds(), "pid-1")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"noticeBarInfo":{"noticeBarType":0,"title":"您有一条新消息","content":"请点击查看",` +
		`"noticeMsgType":0},"clickTypeInfo":{"clickType":0,"parameters":{"e":"{\"k\":\"v\"}",` +
		`"f":"alice","g":"g1","m":"m1","t":"bob"}},"pushTimeInfo":{"offLine":1,"validTime":24},` +
		`"advanceInfo":{"notificationType":{"vibrate":1,"lights":1,"sound":1}}}`
	if got := form.Get("messageJson"); got != want {
		t.Errorf("messageJson\n got %s\nwant %s", got, want)
	}
	if form.Get("appId") != "110001" || form.Get("pushIds") != "pid-1" {
		t.Errorf("form = %v", form)
	}
	if form.Get("sign") != Sign(form, "s3cr3t") || len(form) != 4 {
		t.Errorf("sign %q does not match the form %v", form.Get("sign"), form)
	}
}

func TestBuildFormOptions(t *testing.T) {
	tests := []struct {
		name       string
		creds      func(*Credentials)
		ext        string
		clickType  float64
		activity   any
		noticeType float64
	}{
		{"defaults", func(*Credentials) {}, "", 0, nil, 0},
		{"notifier", func(c *Credentials) {
			c.ClickActivity, c.NoticeType = "com.example.Chat", NoticePrivate
		}, "", 1, "com.example.Chat", 1},
		{"ext overrides", func(c *Credentials) {
			c.ClickActivity, c.NoticeType = "com.example.Chat", NoticePrivate
		}, `{"meizu_click_activity":"com.example.Other","meizu_notice_type":0}`, 1,
			"com.example.Other", 0},
		{"ext notice type as text", func(*Credentials) {}, `{"meizu_notice_type":"1"}`, 0, nil, 1},
		{"bad ext values ignored", func(*Credentials) {},
			`{"meizu_notice_type":7,"meizu_click_activity":1}`, 0, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCreds()
			tt.creds(c)
			n := &messages.Notification{Title: "t", Body: "b", AndroidExt: []byte(tt.ext)}
			form, err := BuildForm(n, c, "p")
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				NoticeBarInfo map[string]any `json:"noticeBarInfo"`
				ClickTypeInfo map[string]any `json:"clickTypeInfo"`
			}
			if err := json.Unmarshal([]byte(form.Get("messageJson")), &m); err != nil {
				t.Fatal(err)
			}
			if m.ClickTypeInfo["clickType"] != tt.clickType ||
				m.ClickTypeInfo["activity"] != tt.activity ||
				m.NoticeBarInfo["noticeMsgType"] != tt.noticeType {
				t.Errorf("click %v, notice %v", m.ClickTypeInfo, m.NoticeBarInfo)
			}
		})
	}
}

func TestBuildFormCutsText(t *testing.T) {
	n := &messages.Notification{Title: strings.Repeat("标", 40), Body: strings.Repeat("a", 150)}
	form, err := BuildForm(n, testCreds(), "p")
	if err != nil {
		t.Fatal(err)
	}
	mj := form.Get("messageJson")
	if !strings.Contains(mj, `"title":"`+strings.Repeat("标", 32)+`"`) ||
		!strings.Contains(mj, `"content":"`+strings.Repeat("a", 100)+`"`) {
		t.Errorf("text not cut to 32 / 100 characters: %s", mj)
	}
	if got := CutChars("ab你好", 3); got != "ab你" {
		t.Errorf("CutChars = %q", got)
	}
}

func TestBuildFormRefuses(t *testing.T) {
	tests := []struct {
		name, custom, token string
		want                error
	}{
		{"custom not an object", `"x"`, "p", vendors.ErrBadCustom},
		{"custom too large", `{"e":"` + strings.Repeat("x", MaxMessageJSON) + `"}`, "p",
			vendors.ErrPayloadTooLarge},
		{"empty token", `{}`, "", vendors.ErrBadDeviceToken},
		{"comma in token", `{}`, "a,b", vendors.ErrBadDeviceToken},
	}
	for _, tt := range tests {
		n := &messages.Notification{Title: "t", Body: "b", Custom: []byte(tt.custom)}
		if _, err := BuildForm(n, testCreds(), tt.token); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestSign(t *testing.T) {
	// MD5 of `appId=110001messageJson={"a":1}pushIds=tok1` + "s3cr3t",
	// computed apart; the keys are given out of order on purpose.
	form := url.Values{"pushIds": {"tok1"}, "messageJson": {`{"a":1}`}, "appId": {"110001"},
		"sign": {"ignored"}}
	if got := Sign(form, "s3cr3t"); got != "ed8e3962a053c2ba8985c8930063ee77" {
		t.Errorf("Sign = %s", got)
	}
}

func TestParseCredentials(t *testing.T) {
	full := map[string]string{"app_id": "1", "app_secret": "s", "package_name": "p"}
	for _, field := range []string{"app_id", "app_secret", "package_name"} {
		m := map[string]string{}
		for k, v := range full {
			if k != field {
				m[k] = v
			}
		}
		var fe *vendors.FieldError
		if _, err := ParseCredentials(m); !errors.As(err, &fe) ||
			fe.Field != "credentials."+field {
			t.Errorf("without %s: err = %v", field, err)
		}
	}
	full["notice_type"] = "2"
	if _, err := ParseCredentials(full); err == nil ||
		!strings.Contains(err.Error(), "credentials.notice_type") {
		t.Errorf("bad notice_type: err = %v", err)
	}
	full["notice_type"] = "1"
	if c, err := ParseCredentials(full); err != nil || c.NoticeType != NoticePrivate {
		t.Errorf("notice_type 1: %+v, %v", c, err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   vendors.Class
	}{
		{200, "200", vendors.Delivered},
		{200, "1001", vendors.Retryable},
		{200, "500", vendors.Retryable},
		{500, "", vendors.Retryable},
		{503, "", vendors.Retryable},
		{200, "1003", vendors.Throttled},
		{429, "", vendors.Throttled},
		{200, "1006", vendors.CredentialError},
		{200, "110000", vendors.CredentialError},
		{200, "110001", vendors.CredentialError},
		{200, "110009", vendors.CredentialError},
		{401, "", vendors.CredentialError},
		{200, "1005", vendors.PayloadError},
		{200, "110004", vendors.PayloadError},
		{200, "", vendors.PayloadError},
		{404, "", vendors.PayloadError},
	}
	for _, tt := range tests {
		if got := Classify(tt.status, tt.code); got != tt.want {
			t.Errorf("Classify(%d, %q) = %v, want %v", tt.status, tt.code, got, tt.want)
		}
	}

	value := map[string][]string{"110002": {"a"}, "110003": {"b"}, "110010": {"c"}}
	perID := []struct {
		id   string
		want vendors.Class
		code string
	}{
		{"a", vendors.TokenInvalid, "110002"},
		{"b", vendors.TokenInvalid, "110003"},
		{"c", vendors.PayloadError, "110010"},
		{"d", vendors.Delivered, ""},
	}
	for _, tt := range perID {
		if got, code := ClassifyPushID(value, tt.id); got != tt.want || code != tt.code {
			t.Errorf("ClassifyPushID(%q) = %v %q, want %v %q", tt.id, got, code, tt.want, tt.code)
		}
	}
}
