package apns

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/herald-im/herald/messages"
)

func TestBuildRequest(t *testing.T) {
	creds := &Credentials{BundleID: "im.herald.test", AuthType: AuthP8}
	withSound := &Credentials{BundleID: "im.herald.test", DefaultSound: "ding.caf"}
	voipCreds := &Credentials{BundleID: "im.herald.test.voip"}
	long := strings.Repeat("k", 65)
	longSum := sha256.Sum256([]byte(long))

	alert := map[string]string{
		"apns-topic": "im.herald.test", "apns-push-type": "alert", "apns-priority": "10",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		h := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}

	tests := []struct {
		name    string
		n       *messages.Notification
		creds   *Credentials
		voip    bool
		headers map[string]string
		body    string
	}{
		{
			name: "every field",
			n: &messages.Notification{
				Title: "T", Subtitle: "S", Body: "B", HasBadge: true, Badge: 3,
				Sound: "s.caf", Category: "cat", ThreadId: "th", MutableContent: true,
				ContentAvailable: true, CollapseKey: "m1",
				Custom: []byte(`{"f":"a","t":"b","m":"m1"}`),
			},
			creds:   creds,
			headers: with(alert, "apns-collapse-id", "m1"),
			body: `{"aps":{"alert":{"title":"T","subtitle":"S","body":"B"},"badge":3,` +
				`"sound":"s.caf","thread-id":"th","category":"cat","mutable-content":1,` +
				`"content-available":1},"f":"a","t":"b","m":"m1"}`,
		},
		{
			name:    "minimal",
			n:       &messages.Notification{Body: "hi"},
			creds:   creds,
			headers: alert,
			body:    `{"aps":{"alert":{"body":"hi"},"sound":"default"}}`,
		},
		{
			name:    "badge zero kept",
			n:       &messages.Notification{Title: "t", HasBadge: true},
			creds:   creds,
			headers: alert,
			body:    `{"aps":{"alert":{"title":"t"},"badge":0,"sound":"default"}}`,
		},
		{
			name:    "notifier default sound",
			n:       &messages.Notification{Body: "hi"},
			creds:   withSound,
			headers: alert,
			body:    `{"aps":{"alert":{"body":"hi"},"sound":"ding.caf"}}`,
		},
		{
			name:    "voip topic appended",
			n:       &messages.Notification{Body: "call", Voip: true},
			creds:   creds,
			voip:    true,
			headers: with(alert, "apns-topic", "im.herald.test.voip", "apns-push-type", "voip"),
			body:    `{"aps":{"alert":{"body":"call"},"sound":"default"}}`,
		},
		{
			name:  "voip topic kept",
			n:     &messages.Notification{Body: "call"},
			creds: voipCreds,
			voip:  true,
			headers: with(alert, "apns-topic", "im.herald.test.voip",
				"apns-push-type", "voip"),
			body: `{"aps":{"alert":{"body":"call"},"sound":"default"}}`,
		},
		{
			name: "background",
			n: &messages.Notification{ContentAvailable: true,
				Custom: []byte(`{"m":"x"}`)},
			creds: creds,
			headers: with(alert, "apns-push-type", "background",
				"apns-priority", "5"),
			body: `{"aps":{"content-available":1},"m":"x"}`,
		},
		{
			name:    "collapse key 64 bytes kept",
			n:       &messages.Notification{Body: "b", CollapseKey: long[:64]},
			creds:   creds,
			headers: with(alert, "apns-collapse-id", long[:64]),
			body:    `{"aps":{"alert":{"body":"b"},"sound":"default"}}`,
		},
		{
			name:  "collapse key hashed",
			n:     &messages.Notification{Body: "b", CollapseKey: long},
			creds: creds,
			headers: with(alert, "apns-collapse-id",
				hex.EncodeToString(longSum[:])),
			body: `{"aps":{"alert":{"body":"b"},"sound":"default"}}`,
		},
		{
			name: "custom keys top level, aps dropped, html escaped",
			n: &messages.Notification{Body: "a<b",
				Custom: []byte(`{"f":"u1","aps":{"x":1},"e":{"k": "<v>", "n":[1, 2]}}`)},
			creds:   creds,
			headers: alert,
			body: `{"aps":{"alert":{"body":"a\u003cb"},"sound":"default"},` +
				`"f":"u1","e":{"k":"\u003cv\u003e","n":[1,2]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body, err := BuildRequest(tt.n, tt.creds, tt.voip)
			if err != nil {
				t.Fatalf("BuildRequest = %v", err)
			}
			if !maps.Equal(h, tt.headers) {
				t.Errorf("headers = %v, want %v", h, tt.headers)
			}
			if string(body) != tt.body {
				t.Errorf("body = %s\nwant   %s", body, tt.body)
			}
			if !json.Valid(body) {
				t.Errorf("body is not JSON: %s", body)
			}
		})
	}
}

// alertOf decodes the alert of a built body.
func alertOf(t *testing.T, body []byte) (title, subtitle, text string) {
	t.Helper()
	var p struct {
		APS struct {
			Alert struct{ Title, Subtitle, Body string }
		}
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return p.APS.Alert.Title, p.APS.Alert.Subtitle, p.APS.Alert.Body
}

func TestBuildRequestTruncates(t *testing.T) {
	creds := &Credentials{BundleID: "im.herald.test"}
	big := strings.Repeat("é", 3000) // 6000 bytes

	tests := []struct {
		name      string
		n         *messages.Notification
		voip      bool
		limit     int
		wantTitle string // "" = expect the title cut, checked as a prefix
		bodyEmpty bool
	}{
		{"body cut", &messages.Notification{Title: "title", Body: big}, false,
			MaxPayload, "title", false},
		{"voip limit", &messages.Notification{Title: "title", Body: big}, true,
			MaxVoIPPayload, "title", false},
		{"title cut after body", &messages.Notification{Title: big, Body: big}, false,
			MaxPayload, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body, err := BuildRequest(tt.n, creds, tt.voip)
			if err != nil {
				t.Fatalf("BuildRequest = %v", err)
			}
			if len(body) > tt.limit {
				t.Fatalf("len(body) = %d, want <= %d", len(body), tt.limit)
			}
			// One more "é" (2 bytes) would not have fitted.
			if len(body) < tt.limit-1 {
				t.Errorf("len(body) = %d, want the longest cut (>= %d)", len(body), tt.limit-1)
			}

			title, _, text := alertOf(t, body)
			if !utf8.ValidString(title) || !utf8.ValidString(text) {
				t.Fatalf("cut inside a character: %q / %q", title, text)
			}
			if !strings.HasPrefix(tt.n.Body, text) || !strings.HasPrefix(tt.n.Title, title) {
				t.Errorf("cut text is not a prefix of the original")
			}
			if tt.wantTitle != "" && title != tt.wantTitle {
				t.Errorf("title = %q, want %q (body is cut first)", title, tt.wantTitle)
			}
			if tt.bodyEmpty && text != "" {
				t.Errorf("body = %d bytes, want it dropped before the title is cut", len(text))
			}
		})
	}
}

func TestBuildRequestPayloadErrors(t *testing.T) {
	creds := &Credentials{BundleID: "im.herald.test"}
	huge := `{"e":"` + strings.Repeat("x", MaxPayload) + `"}`

	tests := []struct {
		name   string
		custom string
		want   error
	}{
		{"custom alone too large", huge, ErrPayloadTooLarge},
		{"custom not an object", `[1,2]`, ErrBadCustom},
		{"custom broken", `{"f":`, ErrBadCustom},
		{"custom trailing", `{"f":1}}`, ErrBadCustom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &messages.Notification{Body: "b", Custom: []byte(tt.custom)}
			_, body, err := BuildRequest(n, creds, false)
			if !errors.Is(err, tt.want) {
				t.Fatalf("BuildRequest = %s, %v; want %v", body, err, tt.want)
			}
		})
	}

	// The same custom data fits the larger VoIP limit.
	n := &messages.Notification{Body: "b", Custom: []byte(huge)}
	if _, _, err := BuildRequest(n, creds, true); err != nil {
		t.Errorf("BuildRequest(voip) = %v, want it to fit 5120 bytes", err)
	}
}
