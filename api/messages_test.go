package api

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/herald-im/herald/messages"
)

const pushPath = "/org1/app1/push/messages"

func TestPushMessage(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	r := h.do("POST", pushPath, tok, `{"msg_id":"m1","from":"Alice","chat_type":"chat",
	  "to":["BOB","bob","alice","carol"],"body":{"type":"txt","text":"hi","url":"x"},
	  "ext":{ "em_force_notification" : true },"remarks":{"BOB":"Al"},"timestamp":5}`)
	if r.status != 200 {
		t.Fatalf("push: %d %s", r.status, r.raw)
	}
	data := r.body["data"].(map[string]any)
	want := map[string]any{"msg_id": "m1", "recipients": 2.0, "pushed": 2.0, "skipped": 0.0,
		"failed": 0.0, "pending": 0.0, "duplicate": false}
	if len(data) != len(want) {
		t.Errorf("data = %v, want keys of %v", data, want)
	}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("data.%s = %v, want %v", k, data[k], v)
		}
	}

	m := h.be.pushed[0]
	if m.AppKey != "org1#app1" || m.From != "alice" || !slices.Equal(m.To, []string{"bob",
		"carol"}) {
		t.Errorf("pushed app %q from %q to %q", m.AppKey, m.From, m.To)
	}
	if string(m.Ext) != `{"em_force_notification":true}` {
		t.Errorf("ext = %s, want compact", m.Ext)
	}
	if m.AcceptedAt != h.now.UnixMilli() || m.Timestamp != 5 || m.Remarks["bob"] != "Al" {
		t.Errorf("accepted_at %d timestamp %d remarks %v", m.AcceptedAt, m.Timestamp,
			m.Remarks)
	}
	if m.Body.Type != "txt" || m.Body.Text != "hi" {
		t.Errorf("body = %v", m.Body)
	}
}

func TestPushMessageGroupAndNoExt(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	r := h.do("POST", pushPath, tok, `{"msg_id":"m2","from":"alice","chat_type":"groupchat",
	  "group_id":"g1","members":["alice","bob","carol","Bob"],"body":{"type":"img"}}`)
	if r.status != 200 || r.body["data"].(map[string]any)["recipients"] != 2.0 {
		t.Fatalf("group push: %d %s", r.status, r.raw)
	}
	if m := h.be.pushed[0]; m.Ext != nil || !slices.Equal(m.Members, []string{"bob", "carol"}) {
		t.Errorf("ext %q members %q", m.Ext, m.Members)
	}
}

// TestPushMessageWait: with ?wait=0 the answer comes at once, every
// recipient still pending.
func TestPushMessageWait(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	h.be.hold = true
	body := `{"msg_id":"m3","from":"a","chat_type":"chat","to":["b","c"],
	  "body":{"type":"txt","text":""}}`
	r := h.do("POST", pushPath+"?wait=0", tok, body)
	d := r.body["data"].(map[string]any)
	if r.status != 200 || d["pending"] != 2.0 || d["pushed"] != 0.0 {
		t.Errorf("held push = %d %s", r.status, r.raw)
	}
	for _, w := range []string{"x", "-1", "121", "1.5", ""} {
		wantInvalid(t, h.do("POST", pushPath+"?wait="+w, tok, body), "wait")
	}
}

func TestPushMessageInvalid(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	// msg builds a chat message with one field replaced (or removed if "").
	msg := func(key, value string) string {
		fields := []struct{ k, v string }{
			{"msg_id", `"m1"`}, {"from", `"alice"`}, {"chat_type", `"chat"`},
			{"to", `["bob"]`}, {"body", `{"type":"txt","text":"hi"}`},
		}
		var parts []string
		found := false
		for _, f := range fields {
			if f.k == key {
				found = true
				f.v = value
			}
			if f.v != "" {
				parts = append(parts, fmt.Sprintf("%q:%s", f.k, f.v))
			}
		}
		if !found {
			parts = append(parts, fmt.Sprintf("%q:%s", key, value))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	quoted := func(n int) string { return `"` + strings.Repeat("m", n) + `"` }
	idList := func(n int) string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf(`"u%d"`, i)
		}
		return "[" + strings.Join(ids, ",") + "]"
	}
	tests := []struct{ name, body, field string }{
		{"unparsable", `{"msg_id":`, "body"},
		{"not object", `[1]`, "body"},
		{"no msg_id", msg("msg_id", ""), "msg_id"},
		{"msg_id 65", msg("msg_id", quoted(65)), "msg_id"},
		{"msg_id number", msg("msg_id", `1`), "msg_id"},
		{"no from", msg("from", ""), "from"},
		{"bad chat_type", msg("chat_type", `"single"`), "chat_type"},
		{"no to", msg("to", ""), "to"},
		{"empty to", msg("to", `[]`), "to"},
		{"to string", msg("to", `"bob"`), "to"},
		{"to numbers", msg("to", `[1]`), "to"},
		{"to 601", msg("to", idList(601)), "to"},
		{"no group_id", `{"msg_id":"m","from":"a","chat_type":"groupchat","members":["b"],
		  "body":{"type":"txt","text":"x"}}`, "group_id"},
		{"no members", `{"msg_id":"m","from":"a","chat_type":"groupchat","group_id":"g",
		  "body":{"type":"txt","text":"x"}}`, "members"},
		{"members 3001", `{"msg_id":"m","from":"a","chat_type":"groupchat","group_id":"g",
		  "members":` + idList(3001) + `,"body":{"type":"txt","text":"x"}}`, "members"},
		{"no body", msg("body", ""), "body"},
		{"body string", msg("body", `"hi"`), "body"},
		{"body null", msg("body", `null`), "body"},
		{"no body type", msg("body", `{"text":"hi"}`), "body.type"},
		{"bad body type", msg("body", `{"type":"sticker"}`), "body.type"},
		{"body type number", msg("body", `{"type":1}`), "body.type"},
		{"txt without text", msg("body", `{"type":"txt"}`), "body.text"},
		{"txt null text", msg("body", `{"type":"txt","text":null}`), "body.text"},
		{"text number", msg("body", `{"type":"txt","text":5}`), "body.text"},
		{"translations type", msg("body", `{"type":"txt","text":"a","translations":[1]}`),
			"body.translations"},
		{"ext array", msg("ext", `[1]`), "ext"},
		{"ext string", msg("ext", `"{}"`), "ext"},
		{"ext null", msg("ext", `null`), "ext"},
		{"route type", msg("route", `1`), "route"},
		{"timestamp string", msg("timestamp", `"1"`), "timestamp"},
		{"timestamp negative", msg("timestamp", `-1`), "timestamp"},
		{"remarks type", msg("remarks", `["x"]`), "remarks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, h.do("POST", pushPath, tok, tt.body), tt.field)
		})
	}
	if len(h.be.pushed) != 0 {
		t.Errorf("rejected messages reached the backend: %d", len(h.be.pushed))
	}
}

// TestPushMessageSize measures the compact JSON of body and ext as sent,
// unknown body fields included.
func TestPushMessageSize(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	overhead := len(`{"type":"txt","text":""}`) + len(`{}`)
	send := func(text, ext string) result {
		return h.do("POST", pushPath, tok, `{"msg_id":"m","from":"a","chat_type":"chat",
		  "to":["b"],"body": { "type" : "txt", "text" : "`+text+`" }`+ext+`}`)
	}
	if r := send(strings.Repeat("a", 5120-overhead), ""); r.status != 200 {
		t.Errorf("5120 bytes: %d %s", r.status, r.raw)
	}
	tooLarge := []struct{ name, text, ext string }{
		{"text", strings.Repeat("a", 5121-overhead), ""},
		{"ext", strings.Repeat("a", 5120-overhead), `,"ext":{"k":1}`},
	}
	for _, tt := range tooLarge {
		wantError(t, send(tt.text, tt.ext), 400, "message_send_error", "message is too large")
	}
	r := h.do("POST", pushPath, tok, `{"msg_id":"m","from":"a","chat_type":"chat",
	  "to":["b"],"body":{"type":"img","url":"`+strings.Repeat("u", 5200)+`"}}`)
	wantError(t, r, 400, "message_send_error", "message is too large")
	if r.body["exception"] != "MessageTooLargeException" {
		t.Errorf("exception = %v", r.body["exception"])
	}
}

func TestPushMessageBackendErrors(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	body := `{"msg_id":"m","from":"a","chat_type":"chat","to":["b"],"body":{"type":"cmd"}}`
	h.be.replyErr = &messages.Error{Code: messages.CodeOverloaded, Description: "busy"}
	wantError(t, h.do("POST", pushPath, tok, body), 503, "service_unavailable", "busy")
	h.be.replyErr, h.be.fail = nil, errBoom
	wantError(t, h.do("POST", pushPath, tok, body), 500, "internal_error", "")
}
