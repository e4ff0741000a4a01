package huawei

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
	return &Credentials{ClientID: "101", ClientSecret: "s3cret", ProjectID: "388",
		PackageName: "com.example.im"}
}

func testNote() *messages.Notification {
	return &messages.Notification{
		Title: "Alice", Body: "hello", HasBadge: true, Badge: 3,
		CollapseKey: "m1", Custom: []byte(`{"f":"alice","t":"bob","m":"m1"}`),
	}
}

// decoded is the request body as a generic tree, for field assertions.
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
	want := `{"validate_only":false,"message":{"token":["tok1"],` +
		`"data":"{\"f\":\"alice\",\"t\":\"bob\",\"m\":\"m1\"}",` +
		`"android":{"urgency":"NORMAL","ttl":"86400s","target_user_type":0,` +
		`"notification":{"title":"Alice","body":"hello","click_action":{"type":3},` +
		`"default_sound":true,"tag":"m1"}}}}`
	if string(body) != want {
		t.Errorf("BuildBody =\n%s\nwant\n%s", body, want)
	}
}

func TestBuildBodyOptions(t *testing.T) {
	creds := testCreds()
	creds.Category, creds.ChannelID, creds.BadgeClass = "IM", "notifier-ch", "com.x.Main"
	creds.ClickAction = "https://example.com/open"

	tests := []struct {
		name  string
		ext   string
		creds func(c *Credentials)
		keys  []string
		want  any
	}{
		{"category from notifier", ``, nil, []string{"android", "category"}, "IM"},
		{"HIGH with category", ``, nil, []string{"android", "urgency"}, "HIGH"},
		{"NORMAL without category", ``, func(c *Credentials) { c.Category = "" },
			[]string{"android", "urgency"}, "NORMAL"},
		{"category from ext", `{"huawei_category":"VOIP"}`, nil,
			[]string{"android", "category"}, "VOIP"},
		{"target user type", `{"huawei_target_user_type":1}`, nil,
			[]string{"android", "target_user_type"}, 1.0},
		{"bad target user type ignored", `{"huawei_target_user_type":7}`, nil,
			[]string{"android", "target_user_type"}, 0.0},
		{"receipt id", `{"huawei_receipt_id":"RCP1"}`, nil,
			[]string{"android", "receipt_id"}, "RCP1"},
		{"channel from notifier", ``, nil,
			[]string{"android", "notification", "channel_id"}, "notifier-ch"},
		{"legacy channel", `{"em_push_channel_id":"legacy"}`, nil,
			[]string{"android", "notification", "channel_id"}, "legacy"},
		{"ext channel beats legacy", `{"em_push_channel_id":"legacy","huawei_channel_id":"ext"}`,
			nil, []string{"android", "notification", "channel_id"}, "ext"},
		{"badge", ``, nil, []string{"android", "notification", "badge"},
			map[string]any{"class": "com.x.Main", "set_num": 3.0}},
		{"legacy badge class", `{"em_huawei_push_badge_class":"com.y.Home"}`, nil,
			[]string{"android", "notification", "badge", "class"}, "com.y.Home"},
		{"no badge without class", ``, func(c *Credentials) { c.BadgeClass = "" },
			[]string{"android", "notification", "badge"}, nil},
		{"url click action", ``, nil, []string{"android", "notification", "click_action"},
			map[string]any{"type": 2.0, "url": "https://example.com/open"}},
		{"ext intent", `{"huawei_click_action":"intent://chat#Intent;scheme=im;end"}`, nil,
			[]string{"android", "notification", "click_action"},
			map[string]any{"type": 1.0, "intent": "intent://chat#Intent;scheme=im;end"}},
		{"ext action", `{"huawei_click_action":"com.x.OPEN"}`, nil,
			[]string{"android", "notification", "click_action"},
			map[string]any{"type": 1.0, "action": "com.x.OPEN"}},
		{"ext object", `{"huawei_click_action":{"type":1,"action":"A"}}`, nil,
			[]string{"android", "notification", "click_action"},
			map[string]any{"type": 1.0, "action": "A"}},
		{"activity", ``, func(c *Credentials) { c.ClickAction, c.Activity = "", ".Chat" },
			[]string{"android", "notification", "click_action", "intent"},
			"#Intent;component=com.example.im/.Chat;end"},
		{"legacy sound", `{"em_push_sound":"/raw/ring"}`, nil,
			[]string{"android", "notification", "sound"}, "/raw/ring"},
		{"legacy sound drops default", `{"em_push_sound":"/raw/ring"}`, nil,
			[]string{"android", "notification", "default_sound"}, false},
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
			got := path(decoded(t, body), append([]string{"message"}, tt.keys...)...)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("%v = %s, want %s", tt.keys, gotJSON, wantJSON)
			}
		})
	}
}

func TestBuildBodyBadgeClamp(t *testing.T) {
	c := testCreds()
	c.BadgeClass = "com.x.Main"
	n := testNote()
	n.Badge = 250
	body, err := BuildBody(n, c, "tok1")
	if err != nil {
		t.Fatal(err)
	}
	got := path(decoded(t, body), "message", "android", "notification", "badge", "set_num")
	if got != float64(MaxBadge) {
		t.Errorf("set_num = %v, want %d", got, MaxBadge)
	}
}

// sizeWithoutToken is the size Huawei checks against MaxPayload.
func sizeWithoutToken(body []byte, token string) int {
	tok, _ := json.Marshal([]string{token})
	return len(body) - len(`"token":`) - len(tok) - 1
}

func TestBuildBodyCutsContentThenTitle(t *testing.T) {
	tests := []struct {
		name           string
		title, body    string
		keepTitle      bool
		wantTitleShort bool
	}{
		{"content cut", "Alice", strings.Repeat("好", 3000), true, false},
		{"title cut after content", strings.Repeat("é", 4000), "x", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := testNote()
			n.Title, n.Body = tt.title, tt.body
			body, err := BuildBody(n, testCreds(), "tok1")
			if err != nil {
				t.Fatal(err)
			}
			if size := sizeWithoutToken(body, "tok1"); size > MaxPayload {
				t.Errorf("size without token = %d, want <= %d", size, MaxPayload)
			}
			note := path(decoded(t, body), "message", "android", "notification").(map[string]any)
			title, text := note["title"].(string), note["body"].(string)
			if !utf8.ValidString(title) || !utf8.ValidString(text) {
				t.Errorf("cut inside a character: %q / %q", title, text)
			}
			if tt.keepTitle && title != tt.title {
				t.Errorf("title = %q, want it kept", title)
			}
			if tt.keepTitle && (len(text) == 0 || len(text) >= len(tt.body)) {
				t.Errorf("content len %d, want cut but not empty", len(text))
			}
			if tt.wantTitleShort && (text != "" || len(title) >= len(tt.title)) {
				t.Errorf("title len %d content %q, want content emptied then title cut",
					len(title), text)
			}
		})
	}
}

func TestBuildBodyCustomErrors(t *testing.T) {
	n := testNote()
	n.Custom = []byte(`{"e":"` + strings.Repeat("x", MaxPayload) + `"}`)
	if _, err := BuildBody(n, testCreds(), "tok1"); !errors.Is(err, vendors.ErrPayloadTooLarge) {
		t.Errorf("huge custom: err = %v, want ErrPayloadTooLarge", err)
	}
	n.Custom = []byte(`[1,2]`)
	if _, err := BuildBody(n, testCreds(), "tok1"); !errors.Is(err, vendors.ErrBadCustom) {
		t.Errorf("array custom: err = %v, want ErrBadCustom", err)
	}
	n.Custom = nil
	body, err := BuildBody(n, testCreds(), "tok1")
	if err != nil || path(decoded(t, body), "message", "data") != nil {
		t.Errorf("no custom: data = %v err %v, want absent", path(decoded(t, body),
			"message", "data"), err)
	}
}

func TestParseCredentials(t *testing.T) {
	full := map[string]string{"client_id": "1", "client_secret": "s", "project_id": "p",
		"package_name": "com.x"}
	for _, missing := range []string{"client_id", "client_secret", "project_id",
		"package_name"} {
		f := map[string]string{}
		for k, v := range full {
			if k != missing {
				f[k] = v
			}
		}
		_, err := ParseCredentials(f)
		var fe *vendors.FieldError
		if !errors.As(err, &fe) || fe.Field != "credentials."+missing {
			t.Errorf("without %s: err = %v, want FieldError on credentials.%s",
				missing, err, missing)
		}
	}
	bad := map[string]string{"client_id": "1", "client_secret": "s",
		"project_id": "p/../x", "package_name": "com.x"}
	if _, err := ParseCredentials(bad); err == nil {
		t.Error("project_id with a slash accepted")
	}
	if _, err := ParseCredentials(full); err != nil {
		t.Errorf("full credentials: %v", err)
	}
}
