package messages

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// fieldOf returns the field an error names, or "<nil>".
func fieldOf(e *Error) string {
	if e == nil {
		return "<nil>"
	}
	return e.Code + ":" + e.Field
}

func TestValidatePutBinding(t *testing.T) {
	tests := []struct {
		name string
		b    *PutBinding
		want string
	}{
		{"upsert", &PutBinding{DeviceId: "d1", DeviceToken: "T1", NotifierName: "fcm-1"}, "<nil>"},
		{"delete one", &PutBinding{DeviceId: "d1", NotifierName: "fcm-1"}, "<nil>"},
		{"delete all", &PutBinding{DeviceId: "d1", DeviceToken: "x"}, "<nil>"},
		{"nil", nil, "illegal_argument:body"},
		{"empty device", &PutBinding{DeviceToken: "T", NotifierName: "n"},
			"illegal_argument:device_id"},
		{"device 128 chars", &PutBinding{DeviceId: strings.Repeat("é", 128)}, "<nil>"},
		{"device 129 chars", &PutBinding{DeviceId: strings.Repeat("d", 129)},
			"illegal_argument:device_id"},
		{"token 4096 bytes", &PutBinding{DeviceId: "d",
			DeviceToken: strings.Repeat("t", 4096)}, "<nil>"},
		{"token 4097 bytes", &PutBinding{DeviceId: "d",
			DeviceToken: strings.Repeat("t", 4095) + "é"}, "illegal_argument:device_token"},
		{"notifier 128 chars", &PutBinding{DeviceId: "d",
			NotifierName: strings.Repeat("n", 128)}, "<nil>"},
		{"notifier 129 chars", &PutBinding{DeviceId: "d",
			NotifierName: strings.Repeat("n", 129)}, "illegal_argument:notifier_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(ValidatePutBinding(tt.b)); got != tt.want {
				t.Errorf("ValidatePutBinding(%v) = %s, want %s", tt.b, got, tt.want)
			}
		})
	}
}

func TestValidatePresence(t *testing.T) {
	ok := func(f func(p *PresenceEvent)) *PresenceEvent {
		p := &PresenceEvent{AppKey: "o#a", User: "bob", DeviceId: "d1",
			State: PresenceState_PRESENCE_ONLINE}
		f(p)
		return p
	}
	tests := []struct {
		name string
		p    *PresenceEvent
		want string
	}{
		{"online", ok(func(*PresenceEvent) {}), "<nil>"},
		{"kicked", ok(func(p *PresenceEvent) { p.State = PresenceState_PRESENCE_KICKED }), "<nil>"},
		{"offline", ok(func(p *PresenceEvent) { p.State = PresenceState_PRESENCE_OFFLINE }), "<nil>"},
		{"nil", nil, "illegal_argument:body"},
		{"no user", ok(func(p *PresenceEvent) { p.User = "" }), "illegal_argument:user"},
		{"no device", ok(func(p *PresenceEvent) { p.DeviceId = "" }), "illegal_argument:device_id"},
		{"long device", ok(func(p *PresenceEvent) { p.DeviceId = strings.Repeat("x", 129) }),
			"illegal_argument:device_id"},
		{"unset state", ok(func(p *PresenceEvent) { p.State = 0 }), "illegal_argument:state"},
		{"bad state", ok(func(p *PresenceEvent) { p.State = 9 }), "illegal_argument:state"},
		{"negative time", ok(func(p *PresenceEvent) { p.Timestamp = -1 }),
			"illegal_argument:timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(ValidatePresence(tt.p)); got != tt.want {
				t.Errorf("ValidatePresence = %s, want %s", got, tt.want)
			}
		})
	}
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "u" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	return out
}

func TestValidatePushMessage(t *testing.T) {
	chat := func(f func(m *PushMessage)) *PushMessage {
		m := &PushMessage{AppKey: "o#a", MsgId: "m1", From: "alice", ChatType: "chat",
			To: []string{"bob"}, Body: &Body{Type: "txt", Text: "hi"}}
		f(m)
		return m
	}
	group := func(f func(m *PushMessage)) *PushMessage {
		m := chat(func(m *PushMessage) {
			m.ChatType, m.To, m.GroupId, m.Members = "groupchat", nil, "g1",
				[]string{"bob", "carol"}
		})
		f(m)
		return m
	}
	// big returns a text that makes body+ext exactly n bytes with ext {}.
	big := func(n int) string {
		overhead := len(`{"type":"txt","text":""}`) + len(`{}`)
		return strings.Repeat("a", n-overhead)
	}
	tests := []struct {
		name string
		m    *PushMessage
		want string
	}{
		{"chat", chat(func(*PushMessage) {}), "<nil>"},
		{"groupchat", group(func(*PushMessage) {}), "<nil>"},
		{"chatroom needs no members", chat(func(m *PushMessage) {
			m.ChatType, m.To, m.GroupId = "chatroom", nil, "r1"
		}), "<nil>"},
		{"nil", nil, "illegal_argument:body"},
		{"no msg_id", chat(func(m *PushMessage) { m.MsgId = "" }), "illegal_argument:msg_id"},
		{"msg_id 64 chars", chat(func(m *PushMessage) { m.MsgId = strings.Repeat("ü", 64) }),
			"<nil>"},
		{"msg_id 65 chars", chat(func(m *PushMessage) { m.MsgId = strings.Repeat("m", 65) }),
			"illegal_argument:msg_id"},
		{"no from", chat(func(m *PushMessage) { m.From = "" }), "illegal_argument:from"},
		{"bad chat_type", chat(func(m *PushMessage) { m.ChatType = "single" }),
			"illegal_argument:chat_type"},
		{"no chat_type", chat(func(m *PushMessage) { m.ChatType = "" }),
			"illegal_argument:chat_type"},
		{"chat without to", chat(func(m *PushMessage) { m.To = nil }), "illegal_argument:to"},
		{"to 600", chat(func(m *PushMessage) { m.To = ids(600) }), "<nil>"},
		{"to 601", chat(func(m *PushMessage) { m.To = ids(601) }), "illegal_argument:to"},
		{"empty id in to", chat(func(m *PushMessage) { m.To = []string{"bob", ""} }),
			"illegal_argument:to"},
		{"group without group_id", group(func(m *PushMessage) { m.GroupId = "" }),
			"illegal_argument:group_id"},
		{"chatroom without group_id", chat(func(m *PushMessage) {
			m.ChatType, m.To = "chatroom", nil
		}), "illegal_argument:group_id"},
		{"group without members", group(func(m *PushMessage) { m.Members = nil }),
			"illegal_argument:members"},
		{"members 3000", group(func(m *PushMessage) { m.Members = ids(3000) }), "<nil>"},
		{"members 3001", group(func(m *PushMessage) { m.Members = ids(3001) }),
			"illegal_argument:members"},
		{"no body", chat(func(m *PushMessage) { m.Body = nil }), "illegal_argument:body"},
		{"bad body type", chat(func(m *PushMessage) { m.Body.Type = "sticker" }),
			"illegal_argument:body.type"},
		{"every body type", chat(func(m *PushMessage) { m.Body.Type = "cmd" }), "<nil>"},
		{"ext object", chat(func(m *PushMessage) { m.Ext = []byte(`{"a": 1}`) }), "<nil>"},
		{"ext array", chat(func(m *PushMessage) { m.Ext = []byte(`[1]`) }),
			"illegal_argument:ext"},
		{"ext not json", chat(func(m *PushMessage) { m.Ext = []byte(`{a`) }),
			"illegal_argument:ext"},
		{"ext null", chat(func(m *PushMessage) { m.Ext = []byte(`null`) }),
			"illegal_argument:ext"},
		{"negative timestamp", chat(func(m *PushMessage) { m.Timestamp = -5 }),
			"illegal_argument:timestamp"},
		{"empty remark key", chat(func(m *PushMessage) {
			m.Remarks = map[string]string{"": "x"}
		}), "illegal_argument:remarks"},
		{"html characters count once", chat(func(m *PushMessage) {
			m.Body.Text = strings.Repeat("<", 5000)
		}), "<nil>"},
		{"5120 bytes", chat(func(m *PushMessage) { m.Body.Text = big(5120) }), "<nil>"},
		{"5121 bytes", chat(func(m *PushMessage) { m.Body.Text = big(5121) }),
			"message_too_large:body"},
		{"ext counts compact", chat(func(m *PushMessage) {
			m.Body.Text = big(5120 - len(`"k":1`))
			m.Ext = []byte(`{ "k" : 1 }`)
		}), "<nil>"},
		{"ext pushes over", chat(func(m *PushMessage) {
			m.Body.Text = big(5120 - len(`"k":1`) + 1)
			m.Ext = []byte(`{ "k" : 1 }`)
		}), "message_too_large:body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(ValidatePushMessage(tt.m)); got != tt.want {
				t.Errorf("ValidatePushMessage = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidatePushMessageTooLargeText(t *testing.T) {
	m := &PushMessage{MsgId: "m", From: "a", ChatType: "chat", To: []string{"b"},
		Body: &Body{Type: "txt", Text: strings.Repeat("x", 6000)}}
	e := ValidatePushMessage(m)
	if e == nil || e.Description != "message is too large" {
		t.Fatalf("ValidatePushMessage(6000 bytes) = %v, want message is too large", e)
	}
}

// TestBodySize compares bodySize with the compact encoding/json output,
// which escapes minimally once HTML escaping is off.
func TestBodySize(t *testing.T) {
	bodies := []*Body{
		{Type: "txt", Text: "hi"},
		{Type: "img"},
		{Type: "txt", Text: "quote \" back \\ nl \n tab \t bell \x07 <&> 你好"},
		{Type: "txt", Text: "x", Translations: map[string]string{"en": "a", "de": "b\"c"}},
		{Type: "txt", Text: "x", Translations: map[string]string{"fr": ""}},
	}
	for _, b := range bodies {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(bodyJSON{b.Type, b.Text, b.Translations}); err != nil {
			t.Fatal(err)
		}
		want := buf.Len() - 1 // Encode adds a newline
		if got := bodySize(b); got != want {
			t.Errorf("bodySize(%v) = %d, want %d (%s)", b, got, want, buf.String())
		}
	}
}

type bodyJSON struct {
	Type         string            `json:"type"`
	Text         string            `json:"text,omitempty"`
	Translations map[string]string `json:"translations,omitempty"`
}

func TestNormalizeRecipients(t *testing.T) {
	tests := []struct {
		name       string
		m          *PushMessage
		want       []string
		wantFrom   string
		wantRemark string
	}{
		{"chat merges and drops sender",
			&PushMessage{From: "Alice", ChatType: "chat",
				To:      []string{"BOB", "bob", "alice", "Carol", "ALICE"},
				Remarks: map[string]string{"BOB": "Al"}},
			[]string{"bob", "carol"}, "alice", "bob"},
		{"groupchat uses members",
			&PushMessage{From: "alice", ChatType: "groupchat",
				Members: []string{"alice", "Bob", "BOB"}},
			[]string{"bob"}, "alice", ""},
		{"chatroom has none",
			&PushMessage{From: "alice", ChatType: "chatroom", Members: []string{"bob"}},
			nil, "alice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NormalizeRecipients(tt.m)
			if !slices.Equal(got, tt.want) {
				t.Errorf("NormalizeRecipients = %q, want %q", got, tt.want)
			}
			if tt.m.From != tt.wantFrom {
				t.Errorf("From = %q, want %q", tt.m.From, tt.wantFrom)
			}
			if tt.wantRemark != "" {
				if _, ok := tt.m.Remarks[tt.wantRemark]; !ok {
					t.Errorf("Remarks = %v, want key %q", tt.m.Remarks, tt.wantRemark)
				}
			}
		})
	}
}

const testPEM = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"

// validNotifiers holds one complete notifier per provider.
func validNotifiers() map[string]*Notifier {
	n := func(provider string, c map[string]string) *Notifier {
		return &Notifier{Name: provider + "-1", Provider: provider, Credentials: c}
	}
	return map[string]*Notifier{
		"apns": n("apns", map[string]string{"bundle_id": "b", "auth_type": "p8",
			"key_id": "K", "team_id": "T", "private_key": testPEM}),
		"apns-voip": n("apns-voip", map[string]string{"bundle_id": "b", "auth_type": "p12",
			"certificate": "AAAA", "password": ""}),
		"fcm": n("fcm", map[string]string{
			"service_account": `{"project_id":"p","client_email":"e"}`}),
		"huawei": n("huawei", map[string]string{"client_id": "c", "client_secret": "s",
			"project_id": "p", "package_name": "x"}),
		"honor": n("honor", map[string]string{"app_id": "a", "client_id": "c",
			"client_secret": "s"}),
		"xiaomi": n("xiaomi", map[string]string{"app_secret": "s", "package_name": "x",
			"channel_id": "c"}),
		"oppo": n("oppo", map[string]string{"app_key": "k", "master_secret": "s",
			"package_name": "x"}),
		"vivo": n("vivo", map[string]string{"app_id": "a", "app_key": "k",
			"app_secret": "s", "package_name": "x"}),
		"meizu": n("meizu", map[string]string{"app_id": "a", "app_secret": "s",
			"package_name": "x"}),
	}
}

func TestValidateNotifierValid(t *testing.T) {
	for p, n := range validNotifiers() {
		if e := ValidateNotifier(n, true); e != nil {
			t.Errorf("ValidateNotifier(%s) = %v, want nil", p, e)
		}
	}
}

func TestValidateNotifierRequiredCredentials(t *testing.T) {
	for p, n := range validNotifiers() {
		for _, f := range providers[p].required {
			c := n.Credentials[f]
			delete(n.Credentials, f)
			want := "illegal_argument:credentials." + f
			if got := fieldOf(ValidateNotifier(n, true)); got != want {
				t.Errorf("ValidateNotifier(%s without %s) = %s, want %s", p, f, got, want)
			}
			n.Credentials[f] = c
		}
	}
}

func TestValidateNotifier(t *testing.T) {
	with := func(p string, f func(n *Notifier)) *Notifier {
		n := validNotifiers()[p]
		f(n)
		return n
	}
	tests := []struct {
		name   string
		n      *Notifier
		create bool
		want   string
	}{
		{"nil", nil, true, "illegal_argument:body"},
		{"no name", with("fcm", func(n *Notifier) { n.Name = "" }), true,
			"illegal_argument:name"},
		{"bad name", with("fcm", func(n *Notifier) { n.Name = "a b" }), true,
			"illegal_argument:name"},
		{"name 129", with("fcm", func(n *Notifier) { n.Name = strings.Repeat("n", 129) }), true,
			"illegal_argument:name"},
		{"name charset", with("fcm", func(n *Notifier) { n.Name = "A-z_0.9" }), true, "<nil>"},
		{"bad provider", with("fcm", func(n *Notifier) { n.Provider = "gcm" }), true,
			"illegal_argument:provider"},
		{"bad environment", with("apns", func(n *Notifier) { n.Environment = "sandbox" }), true,
			"illegal_argument:environment"},
		{"development", with("apns", func(n *Notifier) { n.Environment = "development" }), true,
			"<nil>"},
		{"bad endpoint", with("fcm", func(n *Notifier) { n.Endpoint = "ftp://x" }), true,
			"illegal_argument:endpoint"},
		{"relative endpoint", with("fcm", func(n *Notifier) { n.Endpoint = "/send" }), true,
			"illegal_argument:endpoint"},
		{"good endpoints", with("fcm", func(n *Notifier) {
			n.Endpoint, n.AuthEndpoint = "https://127.0.0.1:8443", "http://127.0.0.1:9/t"
		}), true, "<nil>"},
		{"bad auth_endpoint", with("fcm", func(n *Notifier) { n.AuthEndpoint = "x" }), true,
			"illegal_argument:auth_endpoint"},
		{"apns bad auth_type", with("apns", func(n *Notifier) {
			n.Credentials["auth_type"] = "jwt"
		}), true, "illegal_argument:credentials.auth_type"},
		{"apns p8 without team", with("apns", func(n *Notifier) {
			delete(n.Credentials, "team_id")
		}), true, "illegal_argument:credentials.team_id"},
		{"apns p8 without key_id", with("apns", func(n *Notifier) {
			delete(n.Credentials, "key_id")
		}), true, "illegal_argument:credentials.key_id"},
		{"apns p8 key not PEM", with("apns", func(n *Notifier) {
			n.Credentials["private_key"] = "not a key"
		}), true, "illegal_argument:credentials.private_key"},
		{"apns p12 bad base64", with("apns-voip", func(n *Notifier) {
			n.Credentials["certificate"] = "!!"
		}), true, "illegal_argument:credentials.certificate"},
		{"apns p12 no password", with("apns-voip", func(n *Notifier) {
			delete(n.Credentials, "password")
		}), true, "illegal_argument:credentials.password"},
		{"fcm account not JSON", with("fcm", func(n *Notifier) {
			n.Credentials["service_account"] = "{"
		}), true, "illegal_argument:credentials.service_account"},
		{"fcm no project", with("fcm", func(n *Notifier) {
			n.Credentials["service_account"] = `{"client_email":"e"}`
		}), true, "illegal_argument:credentials.project_id"},
		{"fcm project given", with("fcm", func(n *Notifier) {
			n.Credentials["service_account"] = `{"client_email":"e"}`
			n.Credentials["project_id"] = "p"
		}), true, "<nil>"},
		{"vivo push_type", with("vivo", func(n *Notifier) {
			n.Credentials["push_type"] = "ads"
		}), true, "illegal_argument:credentials.push_type"},
		{"meizu notice_type", with("meizu", func(n *Notifier) {
			n.Credentials["notice_type"] = "2"
		}), true, "illegal_argument:credentials.notice_type"},
		{"patch may omit all", &Notifier{}, false, "<nil>"},
		{"patch checks provider", &Notifier{Provider: "x"}, false, "illegal_argument:provider"},
		{"patch checks endpoint", &Notifier{Endpoint: "x"}, false,
			"illegal_argument:endpoint"},
		{"patch checks environment", &Notifier{Environment: "x"}, false,
			"illegal_argument:environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(ValidateNotifier(tt.n, tt.create)); got != tt.want {
				t.Errorf("ValidateNotifier = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRedactNotifier(t *testing.T) {
	secret := map[string][]string{
		"apns":      {"private_key"},
		"apns-voip": {"certificate", "password"},
		"fcm":       {"service_account"},
		"huawei":    {"client_secret"},
		"honor":     {"client_secret"},
		"xiaomi":    {"app_secret"},
		"oppo":      {"app_key", "master_secret"},
		"vivo":      {"app_key", "app_secret"},
		"meizu":     {"app_secret"},
	}
	for p, n := range validNotifiers() {
		n.Credentials["unknown_field"] = "v"
		r := RedactNotifier(n)
		for k, v := range n.Credentials {
			hidden := slices.Contains(secret[p], k) || k == "unknown_field"
			switch {
			case hidden && r.Credentials[k] != RedactedValue:
				t.Errorf("%s: credentials.%s = %q, want redacted", p, k, r.Credentials[k])
			case !hidden && r.Credentials[k] != v:
				t.Errorf("%s: credentials.%s = %q, want %q", p, k, r.Credentials[k], v)
			}
		}
		if n.Credentials[secret[p][0]] == RedactedValue {
			t.Errorf("%s: RedactNotifier changed its input", p)
		}
	}
}
