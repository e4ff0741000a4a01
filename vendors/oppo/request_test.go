package oppo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

var testCreds = &Credentials{AppKey: "key", MasterSecret: "secret",
	PackageName: "im.herald.demo"}

func testNote() *messages.Notification {
	return &messages.Notification{
		Title: "您有一条新消息", Body: "请点击查看", HasBadge: true, Badge: 2,
		CollapseKey: "m1", Custom: []byte(`{"f":"alice","t":"bob","m":"m1"}`),
	}
}

// decode reads BuildMessage's text back as generic JSON.
func decode(t *testing.T, b []byte) (map[string]any, map[string]any) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	note, _ := m["notification"].(map[string]any)
	return m, note
}

func TestBuildMessageDefaults(t *testing.T) {
	b, err := BuildMessage(testNote(), testCreds, "regid-1")
	if err != nil {
		t.Fatalf("BuildMessage: %v", err)
	}
	want := `{"target_type":2,"target_value":"regid-1","notification":{` +
		`"title":"您有一条新消息","content":"请点击查看","style":1,"click_action_type":0,` +
		`"action_parameters":"{\"f\":\"alice\",\"t\":\"bob\",\"m\":\"m1\"}",` +
		`"off_line":true,"off_line_ttl":86400}}`
	if string(b) != want {
		t.Errorf("BuildMessage =\n%s\nwant\n%s", b, want)
	}
}

func TestBuildMessageOptions(t *testing.T) {
	withAll := *testCreds
	withAll.ChannelID, withAll.ClickActivity = "n_ch", "im.herald.demo.Main"
	withAll.Category, withAll.NotifyLevel = "IM", 2

	tests := []struct {
		name  string
		creds Credentials
		ext   string
		want  map[string]any
		none  []string
	}{
		{"notifier options", withAll, ``, map[string]any{"channel_id": "n_ch",
			"click_action_type": 4.0, "click_action_activity": "im.herald.demo.Main",
			"category": "IM", "notify_level": 2.0}, nil},
		{"ext beats notifier", withAll, `{"oppo_channel_id":"x_ch",` +
			`"em_push_channel_id":"legacy","oppo_click_activity":"a.B",` +
			`"oppo_category":"ACCOUNT","oppo_notify_level":"16"}`,
			map[string]any{"channel_id": "x_ch", "click_action_activity": "a.B",
				"category": "ACCOUNT", "notify_level": 16.0}, nil},
		{"legacy channel", *testCreds, `{"em_push_channel_id":"legacy"}`,
			map[string]any{"channel_id": "legacy"}, nil},
		{"level without category dropped", *testCreds, `{"oppo_notify_level":"16"}`,
			nil, []string{"notify_level", "category"}},
		{"bad ext level keeps notifier's", withAll, `{"oppo_notify_level":"3"}`,
			map[string]any{"notify_level": 2.0}, nil},
		{"numeric ext level", func() Credentials { c := *testCreds; c.Category = "IM"; return c }(),
			`{"oppo_notify_level":1}`, map[string]any{"notify_level": 1.0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := testNote()
			n.AndroidExt = []byte(tt.ext)
			b, err := BuildMessage(n, &tt.creds, "r")
			if err != nil {
				t.Fatal(err)
			}
			_, note := decode(t, b)
			for k, v := range tt.want {
				if note[k] != v {
					t.Errorf("notification.%s = %v, want %v", k, note[k], v)
				}
			}
			for _, k := range tt.none {
				if _, ok := note[k]; ok {
					t.Errorf("notification has %s = %v, want none", k, note[k])
				}
			}
		})
	}
}

func TestBuildMessageCutsAndRefuses(t *testing.T) {
	n := testNote()
	n.Title, n.Body = strings.Repeat("标", 51), strings.Repeat("内", 201)
	b, err := BuildMessage(n, testCreds, "r")
	if err != nil {
		t.Fatal(err)
	}
	_, note := decode(t, b)
	if note["title"] != strings.Repeat("标", MaxTitle) ||
		note["content"] != strings.Repeat("内", MaxContent) {
		t.Errorf("cut title %d, content %d chars; want %d and %d",
			len([]rune(note["title"].(string))), len([]rune(note["content"].(string))),
			MaxTitle, MaxContent)
	}

	for _, tt := range []struct {
		custom string
		want   error
	}{
		{`[1]`, vendors.ErrBadCustom},
		{`{"e":"` + strings.Repeat("x", MaxCustom) + `"}`, vendors.ErrPayloadTooLarge},
	} {
		n := testNote()
		n.Custom = []byte(tt.custom)
		if _, err := BuildMessage(n, testCreds, "r"); !errors.Is(err, tt.want) {
			t.Errorf("BuildMessage(custom %.20q…) = %v, want %v", tt.custom, err, tt.want)
		}
	}
}

func TestSign(t *testing.T) {
	// Computed with: printf 'key1700000000000secret' | sha256sum
	want := "ee412f504f93d283888979ab4f37e98beb471243575d468a4048c57285abad84"
	if got := Sign("key", 1700000000000, "secret"); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status, code int
		parsed       bool
		want         vendors.Class
	}{
		{200, 0, true, vendors.Delivered},
		{200, 10000, true, vendors.TokenInvalid},
		{200, -1, true, vendors.Retryable},
		{500, 0, false, vendors.Retryable},
		{502, 0, false, vendors.Retryable},
		{429, 0, false, vendors.Throttled},
		{401, 0, false, vendors.CredentialError},
		{400, 0, false, vendors.PayloadError},
		{200, 0, false, vendors.PayloadError},
		{200, 424242, true, vendors.PayloadError},
	}
	for _, c := range []int{-2, 13, 55, 33} {
		tests = append(tests, struct {
			status, code int
			parsed       bool
			want         vendors.Class
		}{200, c, true, vendors.Throttled})
	}
	for _, c := range []int{11, 14, 15, 16, 17, 18, 19, 26, 27, 28, 29, 30} {
		tests = append(tests, struct {
			status, code int
			parsed       bool
			want         vendors.Class
		}{200, c, true, vendors.CredentialError})
	}
	for _, c := range []int{12, 20, 21, 22, 23, 24, 25, 31, 32, 40, 41, 51, 59, 67} {
		tests = append(tests, struct {
			status, code int
			parsed       bool
			want         vendors.Class
		}{200, c, true, vendors.PayloadError})
	}
	for _, tt := range tests {
		if got := Classify(tt.status, tt.code, tt.parsed); got != tt.want {
			t.Errorf("Classify(%d, %d, %v) = %v, want %v", tt.status, tt.code, tt.parsed,
				got, tt.want)
		}
	}
}

// TestTokenRenewal moves an injected clock over the 20 h renewal edge.
func TestTokenRenewal(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		age  time.Duration
		keep bool
	}{
		{0, true},
		{19 * time.Hour, true},
		{TokenRenewAfter - time.Millisecond, true},
		{TokenRenewAfter, false},
		{24 * time.Hour, false},
	}
	for _, tt := range tests {
		now := t0.Add(tt.age)
		c := &Client{now: func() time.Time { return now }, token: "tok", fetched: t0, gen: 1}
		tok, gen := c.cached()
		if got := tok != ""; got != tt.keep || (tt.keep && gen != 1) {
			t.Errorf("token aged %v: cached = %q (gen %d), want kept=%v", tt.age, tok, gen,
				tt.keep)
		}
	}

	// A refusal drops only the generation refused.
	c := &Client{now: func() time.Time { return t0 }, token: "new", fetched: t0, gen: 2}
	c.drop(1)
	if tok, _ := c.cached(); tok != "new" {
		t.Errorf("drop(1) removed token generation 2")
	}
	c.drop(2)
	if tok, _ := c.cached(); tok != "" {
		t.Errorf("drop(2) kept the refused token")
	}
}

func TestParseCredentials(t *testing.T) {
	full := map[string]string{"app_key": "k", "master_secret": "s", "package_name": "p"}
	if _, err := ParseCredentials(full); err != nil {
		t.Fatalf("ParseCredentials(full) = %v", err)
	}
	for _, tt := range []struct {
		drop, set, value, field string
	}{
		{drop: "app_key", field: "credentials.app_key"},
		{drop: "master_secret", field: "credentials.master_secret"},
		{drop: "package_name", field: "credentials.package_name"},
		{set: "notify_level", value: "3", field: "credentials.notify_level"},
	} {
		m := map[string]string{}
		for k, v := range full {
			if k != tt.drop {
				m[k] = v
			}
		}
		if tt.set != "" {
			m[tt.set] = tt.value
		}
		_, err := ParseCredentials(m)
		var fe *vendors.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("ParseCredentials(%v) = %v, want a FieldError on %s", m, err, tt.field)
		}
	}
}

func TestRender(t *testing.T) {
	render, ok := vendors.LookupRenderer(Provider)
	if !ok {
		t.Fatal("oppo renderer not registered")
	}
	n := &messages.Notifier{Provider: Provider, Endpoint: "https://127.0.0.1:9",
		Credentials: map[string]string{"app_key": "k", "master_secret": "s",
			"package_name": "p"}}
	req, err := render(n, "regid-1", testNote())
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if req.URL != "https://127.0.0.1:9/server/v1/message/notification/unicast" {
		t.Errorf("render URL = %s", req.URL)
	}
	if !strings.HasPrefix(string(req.Body), "message=") ||
		strings.Contains(string(req.Body), "auth_token") {
		t.Errorf("render body = %s, want only the message", req.Body)
	}
}
