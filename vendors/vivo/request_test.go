package vivo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

func testCreds() *Credentials {
	return &Credentials{AppID: "10004", AppKey: "abc", AppSecret: "s3cr3t",
		PackageName: "com.example", PushType: PushTypeSystem}
}

func decodeRequest(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	return m
}

func TestBuildRequestFields(t *testing.T) {
	n := &messages.Notification{
		Title: "您有一条新消息", Body: "请点击查看", HasBadge: true, Badge: 3,
		Sound: "ring", CollapseKey: "m1",
		Custom: []byte(`{"f":"alice","t":"bob","m":"m1","e":{"k":[1,2]}}`),
	}
	body, err := BuildRequest(n, testCreds(), "regid-1", "req-1")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"appId":"10004","regId":"regid-1","notifyType":4,"title":"您有一条新消息",` +
		`"content":"请点击查看","timeToLive":86400,"skipType":1,"classification":1,` +
		`"requestId":"req-1","pushMode":0,"clientCustomMap":{"e":"{\"k\":[1,2]}",` +
		`"f":"alice","m":"m1","t":"bob"}}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
}

func TestBuildRequestOptions(t *testing.T) {
	tests := []struct {
		name  string
		creds func(c *Credentials)
		ext   string
		want  map[string]any
		none  []string
	}{
		{name: "defaults open the app", creds: func(*Credentials) {},
			want: map[string]any{"skipType": 1.0, "classification": 1.0},
			none: []string{"skipContent", "category"}},
		{name: "notifier options", creds: func(c *Credentials) {
			c.Category, c.ClickActivity, c.PushType = "IM", "com.example.Chat", PushTypeOperation
		}, want: map[string]any{"skipType": 4.0, "skipContent": "com.example.Chat",
			"category": "IM", "classification": 0.0}},
		{name: "ext overrides the notifier", creds: func(c *Credentials) {
			c.Category, c.ClickActivity = "IM", "com.example.Chat"
		}, ext: `{"vivo_category":"TODO","vivo_click_activity":"com.example.Todo"}`,
			want: map[string]any{"skipType": 4.0, "skipContent": "com.example.Todo",
				"category": "TODO"}},
		{name: "non-string ext values are ignored", creds: func(c *Credentials) {
			c.Category = "IM"
		}, ext: `{"vivo_category":7,"vivo_click_activity":true}`,
			want: map[string]any{"skipType": 1.0, "category": "IM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCreds()
			tt.creds(c)
			n := &messages.Notification{Title: "t", Body: "b", AndroidExt: []byte(tt.ext)}
			body, err := BuildRequest(n, c, "r", "id")
			if err != nil {
				t.Fatal(err)
			}
			m := decodeRequest(t, body)
			for k, v := range tt.want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v", k, m[k], v)
				}
			}
			for _, k := range tt.none {
				if _, ok := m[k]; ok {
					t.Errorf("%s present: %v", k, m[k])
				}
			}
		})
	}
}

func TestUnitsAndCutting(t *testing.T) {
	tests := []struct {
		in    string
		max   int
		want  string
		units int
	}{
		{"hello", 40, "hello", 5},
		{"你好", 3, "你", 4},
		{"你好", 4, "你好", 4},
		{"a你b", 2, "a", 4},
		{"a你b", 3, "a你", 4},
		{"한국어", 5, "한국", 6},
		{"ｆｕｌｌ", 4, "ｆｕ", 8},
		{"é" + strings.Repeat("x", 50), 3, "éxx", 51},
	}
	for _, tt := range tests {
		if got := CutUnits(tt.in, tt.max); got != tt.want {
			t.Errorf("CutUnits(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if got := Units(tt.in); got != tt.units {
			t.Errorf("Units(%q) = %d, want %d", tt.in, got, tt.units)
		}
	}
}

func TestBuildRequestCutsText(t *testing.T) {
	n := &messages.Notification{Title: strings.Repeat("标", 30), Body: strings.Repeat("内", 60)}
	body, err := BuildRequest(n, testCreds(), "r", "id")
	if err != nil {
		t.Fatal(err)
	}
	m := decodeRequest(t, body)
	if m["title"] != strings.Repeat("标", 20) {
		t.Errorf("title = %v, want 20 CJK characters (40 units)", m["title"])
	}
	if m["content"] != strings.Repeat("内", 50) {
		t.Errorf("content = %v, want 50 CJK characters (100 units)", m["content"])
	}
}

func TestBuildRequestRefuses(t *testing.T) {
	big := `{"f":"` + strings.Repeat("x", 1100) + `"}`
	many := `{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9",` +
		`"j":"10","k":"11"}`
	tests := []struct {
		name   string
		custom string
		token  string
		want   error
	}{
		{"custom not an object", `[1]`, "r", vendors.ErrBadCustom},
		{"custom too long", big, "r", vendors.ErrPayloadTooLarge},
		{"too many custom keys", many, "r", vendors.ErrPayloadTooLarge},
		{"empty token", `{}`, "", vendors.ErrBadDeviceToken},
		{"token with a space", `{}`, "a b", vendors.ErrBadDeviceToken},
	}
	for _, tt := range tests {
		n := &messages.Notification{Title: "t", Body: "b", Custom: []byte(tt.custom)}
		_, err := BuildRequest(n, testCreds(), tt.token, "id")
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestRequestID(t *testing.T) {
	n := &messages.Notification{CollapseKey: "m1"}
	long := strings.Repeat("x", 65)
	if got := RequestID("abc", n, "r"); got != "abc" {
		t.Errorf("short id = %q", got)
	}
	got := RequestID(long, n, "r")
	if len(got) != 64 || got != RequestID(long, n, "r") || got == long[:64] {
		t.Errorf("long id = %q, want a stable 64-character digest", got)
	}
	derived := RequestID("", n, "r")
	if derived == "" || len(derived) > 64 || derived != RequestID("", n, "r") ||
		derived == RequestID("", n, "r2") {
		t.Errorf("derived id %q is empty, too long, unstable or not per token", derived)
	}
}

func TestSign(t *testing.T) {
	// MD5("10004" + "abc" + "1700000000000" + "s3cr3t"), computed apart.
	got := Sign("10004", "abc", 1700000000000, "s3cr3t")
	if got != "56f92f449f0f9429bee13ce37fbb8f86" {
		t.Errorf("Sign = %s", got)
	}
}

func TestParseCredentials(t *testing.T) {
	full := map[string]string{"app_id": "1", "app_key": "k", "app_secret": "s",
		"package_name": "p"}
	for _, field := range []string{"app_id", "app_key", "app_secret", "package_name"} {
		m := map[string]string{}
		for k, v := range full {
			if k != field {
				m[k] = v
			}
		}
		_, err := ParseCredentials(m)
		var fe *vendors.FieldError
		if !errors.As(err, &fe) || fe.Field != "credentials."+field {
			t.Errorf("without %s: err = %v", field, err)
		}
	}
	full["push_type"] = "loud"
	if _, err := ParseCredentials(full); err == nil ||
		!strings.Contains(err.Error(), "credentials.push_type") {
		t.Errorf("bad push_type: err = %v", err)
	}
	full["push_type"] = ""
	c, err := ParseCredentials(full)
	if err != nil || c.PushType != PushTypeSystem {
		t.Errorf("default push_type: %+v, %v", c, err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status, result int
		desc           string
		want           vendors.Class
	}{
		{200, 0, "ok", vendors.Delivered},
		{200, 10302, "regId is invalid", vendors.TokenInvalid},
		{200, 10301, "the regId does not exist", vendors.TokenInvalid},
		{500, 0, "", vendors.Retryable},
		{502, 0, "", vendors.Retryable},
		{200, 10070, "daily limit", vendors.Throttled},
		{429, 0, "", vendors.Throttled},
		{200, 10000, "authToken expired", vendors.CredentialError},
		{200, 10094, "appId mismatch", vendors.CredentialError},
		{401, 0, "", vendors.CredentialError},
		{403, 0, "", vendors.CredentialError},
		{200, 10051, "title too long", vendors.PayloadError},
		{200, -1, "", vendors.PayloadError},
		{400, 0, "", vendors.PayloadError},
	}
	for _, tt := range tests {
		if got := Classify(tt.status, tt.result, tt.desc); got != tt.want {
			t.Errorf("Classify(%d, %d, %q) = %v, want %v", tt.status, tt.result, tt.desc,
				got, tt.want)
		}
	}
}
