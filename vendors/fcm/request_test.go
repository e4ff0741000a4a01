package fcm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

var testCreds = &Credentials{ProjectID: "demo-1", Priority: PriorityHigh}

func TestBuildRequest(t *testing.T) {
	custom := []byte(`{"f":"ann","t":"bob","m":"m1","g":"grp","e":{"a":[1,"x"]}}`)
	tests := []struct {
		name  string
		n     *messages.Notification
		creds *Credentials
		want  string
	}{{
		name: "defaults",
		n: &messages.Notification{Title: "T", Body: "B", HasBadge: true, Badge: 2,
			CollapseKey: "m1", Custom: custom},
		creds: testCreds,
		want: `{"message":{"token":"tok","notification":{"title":"T","body":"B"},` +
			`"data":{"e":"{\"a\":[1,\"x\"]}","f":"ann","g":"grp","m":"m1","t":"bob"},` +
			`"android":{"priority":"HIGH","ttl":"86400s","notification":{"sound":"default",` +
			`"notification_count":2,"tag":"m1"}}}}`,
	}, {
		name: "notifier options, explicit collapse key",
		n: &messages.Notification{Title: "T", CollapseKey: "ck", ExplicitCollapseKey: true,
			HasBadge: true, Badge: 0},
		creds: &Credentials{ProjectID: "p", ChannelID: "chat", Sound: "ping",
			Priority: PriorityNormal},
		want: `{"message":{"token":"tok","notification":{"title":"T"},` +
			`"android":{"collapse_key":"ck","priority":"NORMAL","ttl":"86400s",` +
			`"notification":{"sound":"ping","channel_id":"chat","notification_count":0,` +
			`"tag":"ck"}}}}`,
	}, {
		name: "android ext overrides the notifier",
		n: &messages.Notification{Body: "B", AndroidExt: []byte(`{"fcm_channel_id":"ext",` +
			`"em_push_channel_id":"legacy","em_push_sound":"/raw/ring",` +
			`"fcm_options":{"analytics_label":"chat"}}`)},
		creds: &Credentials{ProjectID: "p", ChannelID: "chat", Sound: "ping",
			Priority: PriorityHigh},
		want: `{"message":{"token":"tok","notification":{"body":"B"},` +
			`"android":{"priority":"HIGH","ttl":"86400s","notification":` +
			`{"sound":"/raw/ring","channel_id":"ext"}},` +
			`"fcm_options":{"analytics_label":"chat"}}}`,
	}, {
		name: "legacy channel id beats the notifier's",
		n: &messages.Notification{Body: "B",
			AndroidExt: []byte(`{"em_push_channel_id":"legacy","fcm_options":"bad"}`)},
		creds: &Credentials{ProjectID: "p", ChannelID: "chat", Priority: PriorityHigh},
		want: `{"message":{"token":"tok","notification":{"body":"B"},` +
			`"android":{"priority":"HIGH","ttl":"86400s","notification":` +
			`{"sound":"default","channel_id":"legacy"}}}}`,
	}}
	for _, tt := range tests {
		got, err := BuildRequest(tt.n, tt.creds, "tok")
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestBuildRequestRefusals(t *testing.T) {
	tests := []struct {
		name  string
		n     *messages.Notification
		token string
		want  error
	}{
		{"empty token", &messages.Notification{Body: "b"}, "", ErrBadDeviceToken},
		{"huge token", &messages.Notification{Body: "b"}, strings.Repeat("a", 5000),
			ErrBadDeviceToken},
		{"custom not an object", &messages.Notification{Custom: []byte(`[1]`)}, "t",
			vendors.ErrBadCustom},
		{"custom with trailing data", &messages.Notification{Custom: []byte(`{"a":"b"} x`)},
			"t", vendors.ErrBadCustom},
		{"custom too large", &messages.Notification{Title: "t",
			Custom: []byte(`{"e":"` + strings.Repeat("x", MaxPayload) + `"}`)}, "t",
			vendors.ErrPayloadTooLarge},
	}
	for _, tt := range tests {
		if _, err := BuildRequest(tt.n, testCreds, tt.token); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestBuildRequestCutsText: the body is cut first, then the title, at a
// character boundary, and the result fills the limit.
func TestBuildRequestCutsText(t *testing.T) {
	long := strings.Repeat("消息", 2000) // 3 bytes a character
	token := strings.Repeat("k", 160)
	tests := []struct {
		name        string
		title, body string
		keepTitle   bool
	}{
		{"long body", "Title", long, true},
		{"long title and body", long, long, false},
	}
	for _, tt := range tests {
		n := &messages.Notification{Title: tt.title, Body: tt.body,
			Custom: []byte(`{"m":"m1"}`)}
		out, err := BuildRequest(n, testCreds, token)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if size := len(out) - len(token); size > MaxPayload || size < MaxPayload-3 {
			t.Errorf("%s: payload %d bytes, want just under %d", tt.name, size, MaxPayload)
		}
		var req struct {
			Message struct {
				Notification struct{ Title, Body string }
			}
		}
		if err := json.Unmarshal(out, &req); err != nil {
			t.Fatal(err)
		}
		got := req.Message.Notification
		if !utf8.ValidString(got.Title) || !utf8.ValidString(got.Body) {
			t.Errorf("%s: cut inside a character", tt.name)
		}
		switch {
		case tt.keepTitle && (got.Title != tt.title || !strings.HasPrefix(tt.body, got.Body) ||
			got.Body == ""):
			t.Errorf("%s: title %q body %d bytes, want the title whole and the body cut",
				tt.name, got.Title, len(got.Body))
		case !tt.keepTitle && (got.Body != "" || !strings.HasPrefix(tt.title, got.Title) ||
			got.Title == ""):
			t.Errorf("%s: title %d bytes body %d bytes, want no body and the title cut",
				tt.name, len(got.Title), len(got.Body))
		}
	}
}

func TestRender(t *testing.T) {
	n := &messages.Notifier{Provider: Provider, Endpoint: "https://sim:9000",
		Credentials: map[string]string{"service_account": testAccount(t, nil)}}
	wr, err := render(n, "tok", &messages.Notification{Title: "T", CollapseKey: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if wr.Method != "POST" || wr.URL != "https://sim:9000/v1/projects/demo-1/messages:send" ||
		wr.Headers["authorization"] != "" || !strings.Contains(string(wr.Body), `"tag":"m"`) {
		t.Errorf("render = %+v %s", wr, wr.Body)
	}
	if _, err := render(&messages.Notifier{Provider: Provider}, "tok",
		&messages.Notification{}); err == nil {
		t.Error("render without credentials succeeded")
	}
}
