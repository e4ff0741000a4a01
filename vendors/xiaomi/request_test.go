package xiaomi

import (
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

var testCreds = &Credentials{AppSecret: "s3cret", PackageName: "im.herald.demo",
	ChannelID: "notifier_ch"}

func testNote() *messages.Notification {
	return &messages.Notification{
		Title: "您有一条新消息", Body: "请点击查看", HasBadge: true, Badge: 3,
		CollapseKey: "m1", Custom: []byte(`{"f":"alice","t":"bob","m":"m1"}`),
	}
}

func TestBuildFormFields(t *testing.T) {
	f, err := BuildForm(testNote(), testCreds, "regid-1")
	if err != nil {
		t.Fatalf("BuildForm: %v", err)
	}
	want := map[string]string{
		"registration_id":         "regid-1",
		"restricted_package_name": "im.herald.demo",
		"title":                   "您有一条新消息",
		"description":             "请点击查看",
		"payload":                 `{"f":"alice","t":"bob","m":"m1"}`,
		"pass_through":            "0",
		"notify_type":             "-1",
		"notify_id":               strconv.Itoa(int(NotifyID("m1"))),
		"time_to_live":            "86400000",
		"extra.channel_id":        "notifier_ch",
		"extra.notify_effect":     "1",
	}
	for k, v := range want {
		if got := f.Get(k); got != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if len(f) != len(want) {
		t.Errorf("form has %d fields %v, want %d (no badge, no uris)", len(f), f, len(want))
	}
}

func TestBuildFormExtOptions(t *testing.T) {
	tests := []struct {
		name  string
		creds Credentials
		ext   string
		want  map[string]string
		none  []string
	}{
		{"ext channel beats legacy and notifier", *testCreds,
			`{"xiaomi_channel_id":"ext_ch","em_push_channel_id":"legacy"}`,
			map[string]string{"extra.channel_id": "ext_ch"}, nil},
		{"legacy channel beats notifier", *testCreds, `{"em_push_channel_id":"legacy"}`,
			map[string]string{"extra.channel_id": "legacy"}, nil},
		{"intent click from ext", *testCreds,
			`{"xiaomi_click_action":"intent:#Intent;component=im.herald.demo/.Chat;end"}`,
			map[string]string{"extra.notify_effect": "2",
				"extra.intent_uri": "intent:#Intent;component=im.herald.demo/.Chat;end"},
			[]string{"extra.web_uri"}},
		{"web click from notifier", Credentials{AppSecret: "s", PackageName: "p",
			ChannelID: "c", ClickAction: "https://herald.im/open"}, ``,
			map[string]string{"extra.notify_effect": "3",
				"extra.web_uri": "https://herald.im/open"}, []string{"extra.intent_uri"}},
		{"sound path", *testCreds, `{"em_push_sound":"/raw/ring"}`,
			map[string]string{"extra.sound_uri": "android.resource://im.herald.demo/raw/ring"},
			nil},
		{"sound name", *testCreds, `{"em_push_sound":"ding"}`,
			map[string]string{"extra.sound_uri": "android.resource://im.herald.demo/raw/ding"},
			nil},
		{"sound uri kept", *testCreds, `{"em_push_sound":"android.resource://x/raw/y"}`,
			map[string]string{"extra.sound_uri": "android.resource://x/raw/y"}, nil},
		{"unreadable ext ignored", *testCreds, `[1,2]`,
			map[string]string{"extra.channel_id": "notifier_ch", "extra.notify_effect": "1"},
			[]string{"extra.sound_uri"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := testNote()
			n.AndroidExt = []byte(tt.ext)
			f, err := BuildForm(n, &tt.creds, "r")
			if err != nil {
				t.Fatalf("BuildForm: %v", err)
			}
			for k, v := range tt.want {
				if got := f.Get(k); got != v {
					t.Errorf("form %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.none {
				if f.Has(k) {
					t.Errorf("form has %s = %q, want none", k, f.Get(k))
				}
			}
		})
	}
}

func TestBuildFormCutsTextAtCharacters(t *testing.T) {
	n := testNote()
	n.Title = strings.Repeat("标", 60)
	n.Body = strings.Repeat("é", 200)
	f, err := BuildForm(n, testCreds, "r")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Get("title"); got != strings.Repeat("标", MaxTitle) {
		t.Errorf("title cut to %d chars, want %d", len([]rune(got)), MaxTitle)
	}
	if got := f.Get("description"); got != strings.Repeat("é", MaxDescription) {
		t.Errorf("description cut to %d chars, want %d", len([]rune(got)), MaxDescription)
	}
}

func TestBuildFormRefusesCustom(t *testing.T) {
	tests := []struct {
		name   string
		custom string
		want   error
	}{
		{"not an object", `["f"]`, vendors.ErrBadCustom},
		{"not json", `{"f":`, vendors.ErrBadCustom},
		{"too large", `{"e":"` + strings.Repeat("x", MaxPayload) + `"}`,
			vendors.ErrPayloadTooLarge},
	}
	for _, tt := range tests {
		n := testNote()
		n.Custom = []byte(tt.custom)
		if _, err := BuildForm(n, testCreds, "r"); !errors.Is(err, tt.want) {
			t.Errorf("%s: BuildForm error = %v, want %v", tt.name, err, tt.want)
		}
	}

	// Exactly at the limit still fits.
	n := testNote()
	n.Custom = []byte(`{"e":"` + strings.Repeat("x", MaxPayload-8) + `"}`)
	if _, err := BuildForm(n, testCreds, "r"); err != nil {
		t.Errorf("custom of %d bytes refused: %v", len(n.Custom), err)
	}
}

func TestNotifyIDIsFNV1aMasked(t *testing.T) {
	for _, key := range []string{"", "m1", "a-long-collapse-key-" + strings.Repeat("z", 44)} {
		h := fnv.New32a()
		h.Write([]byte(key))
		want := int32(h.Sum32() & 0x7fffffff)
		got := NotifyID(key)
		if got != want || got < 0 {
			t.Errorf("NotifyID(%q) = %d, want %d", key, got, want)
		}
	}
	if NotifyID("m1") == NotifyID("m2") {
		t.Errorf("NotifyID gives m1 and m2 the same id")
	}
	// Known vector: FNV-1a 32 of "a" is 0xe40c292c; masked 0x640c292c.
	if got := NotifyID("a"); got != 0x640c292c {
		t.Errorf("NotifyID(a) = %#x, want 0x640c292c", got)
	}
}

func TestParseCredentials(t *testing.T) {
	full := map[string]string{"app_secret": "s", "package_name": "p", "channel_id": "c"}
	if _, err := ParseCredentials(full); err != nil {
		t.Fatalf("ParseCredentials(full) = %v", err)
	}
	for _, field := range []string{"app_secret", "package_name", "channel_id"} {
		m := map[string]string{}
		for k, v := range full {
			if k != field {
				m[k] = v
			}
		}
		_, err := ParseCredentials(m)
		var fe *vendors.FieldError
		if !errors.As(err, &fe) || fe.Field != "credentials."+field {
			t.Errorf("without %s: error %v, want a FieldError naming it", field, err)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status, code int
		parsed       bool
		want         vendors.Class
	}{
		{200, 0, true, vendors.Delivered},
		{200, 0, false, vendors.PayloadError},
		{500, 0, false, vendors.Retryable},
		{503, 10002, true, vendors.Retryable},
		{429, 0, false, vendors.Throttled},
		{401, 21301, true, vendors.CredentialError},
		{403, 0, false, vendors.CredentialError},
		{200, 21301, true, vendors.CredentialError},
		{200, 21305, true, vendors.PayloadError},
		{200, 22000, true, vendors.PayloadError},
		{400, 0, false, vendors.PayloadError},
	}
	for _, tt := range tests {
		if got := Classify(tt.status, tt.code, tt.parsed); got != tt.want {
			t.Errorf("Classify(%d, %d, %v) = %v, want %v", tt.status, tt.code, tt.parsed,
				got, tt.want)
		}
	}
}

func TestRenderMatchesPush(t *testing.T) {
	render, ok := vendors.LookupRenderer(Provider)
	if !ok {
		t.Fatal("xiaomi renderer not registered")
	}
	if _, ok := vendors.Lookup(Provider); !ok {
		t.Fatal("xiaomi factory not registered")
	}
	n := &messages.Notifier{Provider: Provider, Endpoint: "https://127.0.0.1:9/base/",
		Credentials: map[string]string{"app_secret": "s", "package_name": "p",
			"channel_id": "c"}}
	req, err := render(n, "regid-1", testNote())
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if req.URL != "https://127.0.0.1:9/base/v3/message/regid" || req.Method != "POST" {
		t.Errorf("render = %s %s", req.Method, req.URL)
	}
	if strings.Contains(string(req.Body), "s3cret") || req.Headers["authorization"] != "" {
		t.Errorf("render leaks auth: %v %s", req.Headers, req.Body)
	}
	if !strings.Contains(string(req.Body), "registration_id=regid-1") {
		t.Errorf("render body %s lacks the regId", req.Body)
	}
	if _, err := render(n, "a,b", testNote()); !errors.Is(err, vendors.ErrBadDeviceToken) {
		t.Errorf("render of a comma token: %v, want ErrBadDeviceToken", err)
	}
}
