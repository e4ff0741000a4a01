package e2e

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
)

// previewAnswer is the data of POST /push/preview.
type previewAnswer struct {
	Recipient   string `json:"recipient"`
	Decision    string `json:"decision"`
	Duplicate   bool   `json:"duplicate"`
	Step        int    `json:"step"`
	Reason      string `json:"reason"`
	Explanation string `json:"explanation"`
	Cause       string `json:"cause"`
	Bindings    []struct {
		DeviceID     string `json:"device_id"`
		Provider     string `json:"provider"`
		DeviceState  string `json:"device_state"`
		Decision     string `json:"decision"`
		Step         int    `json:"step"`
		Reason       string `json:"reason"`
		Notification struct {
			Title string `json:"title"`
			Body  string `json:"content"`
			Badge int    `json:"badge"`
		} `json:"notification"`
		Request *struct {
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    map[string]any    `json:"body"`
		} `json:"request"`
		RenderError string `json:"render_error"`
	} `json:"bindings"`
}

func (f *fixture) preview(body map[string]any) previewAnswer {
	f.t.Helper()
	var env struct {
		Data  previewAnswer `json:"data"`
		Error string        `json:"error"`
	}
	if code := httpJSON(f.t, "POST", f.node.url("/push/preview"), f.token, body,
		&env); code != 200 {
		f.t.Fatalf("preview: status %d %+v", code, env)
	}
	return env.Data
}

func chatTo(id, recipient string, ext map[string]any) map[string]any {
	m := map[string]any{"msg_id": id, "from": "alice", "chat_type": "chat",
		"to": []string{"bob"}, "body": map[string]any{"type": "txt", "text": "hi"},
		"recipient": recipient}
	if ext != nil {
		m["ext"] = ext
	}
	return m
}

// TestPreview: the dry run shows the exact vendor request and the badge
// the next push would carry, sends and counts nothing, and explains stops.
func TestPreview(t *testing.T) {
	s := startSim(t)
	n := startNode(t, s, t.TempDir())
	f := &fixture{quickstart: setUp(t, s, n), t: t}

	p := f.preview(chatTo("p1", "BOB", map[string]any{
		"em_apns_ext": map[string]any{"em_push_sound": "ring.caf"}}))
	if p.Decision != "push" || p.Recipient != "bob" || len(p.Bindings) != 1 {
		t.Fatalf("preview = %+v, want one binding pushed", p)
	}
	b := p.Bindings[0]
	if b.Step != 15 || b.Provider != "apns" || b.DeviceState != "offline" ||
		b.Notification.Badge != 1 || b.Request == nil {
		t.Fatalf("binding = %+v (render error %q), want step 15, badge 1 and a request",
			b, b.RenderError)
	}
	if b.Request.Method != "POST" || b.Request.URL != s.apns+"/3/device/"+f.device ||
		b.Request.Headers["apns-topic"] != f.bundle ||
		b.Request.Headers["apns-push-type"] != "alert" {
		t.Errorf("request = %+v", b.Request)
	}

	// Nothing was sent and nothing counted.
	var recs []simRecord
	if httpJSON(t, "GET", s.control+"/_sim/received", "", nil, &recs); len(recs) != 0 {
		t.Fatalf("vendorsim received %d requests after a preview", len(recs))
	}
	var count envelope
	httpJSON(t, "GET", n.url("/users/bob/offline_msg_count"), f.token, nil, &count)
	if count.Data["bob"] != float64(0) {
		t.Errorf("offline_msg_count after a preview = %v, want 0", count.Data)
	}

	// The real push of the same message (its id was not remembered)
	// carries exactly the previewed payload.
	_, sent := f.send(map[string]any{"msg_id": "p1",
		"ext": map[string]any{"em_apns_ext": map[string]any{"em_push_sound": "ring.caf"}}})
	if len(sent) != 1 {
		t.Fatalf("push after the preview reached vendorsim %d times", len(sent))
	}
	if !reflect.DeepEqual(sent[0].Payload, b.Request.Body) {
		got, _ := json.Marshal(sent[0].Payload)
		want, _ := json.Marshal(b.Request.Body)
		t.Errorf("sent payload %s, previewed %s", got, want)
	}
	if sent[0].Headers["apns-collapse-id"] != b.Request.Headers["apns-collapse-id"] {
		t.Errorf("collapse id sent %q, previewed %q", sent[0].Headers["apns-collapse-id"],
			b.Request.Headers["apns-collapse-id"])
	}

	// Now the pair was processed: the preview says so; the badge shown
	// is the next one.
	p = f.preview(chatTo("p1", "bob", nil))
	if !p.Duplicate || len(p.Bindings) != 1 || p.Bindings[0].Notification.Badge != 2 {
		t.Errorf("preview of a processed message = %+v, want duplicate, badge 2", p)
	}

	// A stop is explained: DND with its cause, an online recipient.
	const app = "/users/bob/notification/user/bob"
	f.must("PUT", app, map[string]any{"ignoreInterval": localWindow(t, "Asia/Shanghai", true)})
	p = f.preview(chatTo("p2", "bob", nil))
	if p.Decision != "stop" || p.Step != 8 || p.Reason != "user ignore push" ||
		p.Cause != "app ignoreInterval active" {
		t.Errorf("preview under DND = %+v", p)
	}
	p = f.preview(chatTo("p2", "bob", map[string]any{"em_force_notification": true}))
	if p.Decision != "push" {
		t.Errorf("forced preview under DND = %+v, want push", p)
	}
	f.must("PUT", app, map[string]any{"ignoreInterval": ""})
	f.must("PUT", "/users/bob/presence/d1", map[string]any{"state": "online"})
	p = f.preview(chatTo("p2", "bob", nil))
	if p.Step != 2 || p.Reason != "" || p.Explanation != "recipient online" {
		t.Errorf("preview for an online recipient = %+v", p)
	}

	// The recipient must be one of the message's recipients.
	for _, r := range []string{"carol", ""} {
		code, env := f.call("POST", "/push/preview", chatTo("p3", r, nil))
		f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : recipient")
	}
	code, env := f.call("POST", "/push/preview", map[string]any{"recipient": "bob"})
	f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : msg_id")

	if got := len(s.wait(t, 1, url.Values{})); got != 1 {
		t.Errorf("vendorsim received %d requests in all, want the one real push", got)
	}
}
