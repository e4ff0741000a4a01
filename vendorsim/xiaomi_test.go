package vendorsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func xiaomiForm(token string) url.Values {
	return url.Values{
		"registration_id": {token}, "restricted_package_name": {"im.herald.demo"},
		"title": {"Hi"}, "description": {"there"}, "payload": {`{"f":"alice"}`},
		"pass_through": {"0"}, "notify_type": {"-1"}, "notify_id": {"12345"},
		"time_to_live": {"86400000"}, "extra.channel_id": {"c"},
		"extra.notify_effect": {"1"},
	}
}

func TestXiaomiCheck(t *testing.T) {
	app := xiaomiApp{AppSecret: "s", PackageName: "im.herald.demo"}
	tests := []struct {
		name  string
		edit  func(f url.Values)
		field string // "" = accepted
	}{
		{"valid", func(url.Values) {}, ""},
		{"foreign package", func(f url.Values) { f.Set("restricted_package_name", "x") },
			"restricted_package_name"},
		{"title 50 chars", func(f url.Values) { f.Set("title", strings.Repeat("标", 50)) },
			"title"},
		{"title 49 chars", func(f url.Values) { f.Set("title", strings.Repeat("标", 49)) }, ""},
		{"no description", func(f url.Values) { f.Del("description") }, "description"},
		{"description 128", func(f url.Values) {
			f.Set("description", strings.Repeat("a", 128))
		}, "description"},
		{"payload over 4 KB", func(f url.Values) {
			f.Set("payload", `"`+strings.Repeat("x", 4096)+`"`)
		}, "payload"},
		{"pass_through 2", func(f url.Values) { f.Set("pass_through", "2") }, "pass_through"},
		{"notify_id negative", func(f url.Values) { f.Set("notify_id", "-5") }, "notify_id"},
		{"ttl over 2 weeks", func(f url.Values) {
			f.Set("time_to_live", "1209600001")
		}, "time_to_live"},
		{"effect 2 without intent", func(f url.Values) {
			f.Set("extra.notify_effect", "2")
		}, "extra.intent_uri"},
		{"effect 3 with web uri", func(f url.Values) {
			f.Set("extra.notify_effect", "3")
			f.Set("extra.web_uri", "https://herald.im")
		}, ""},
		{"effect 4", func(f url.Values) { f.Set("extra.notify_effect", "4") },
			"extra.notify_effect"},
	}
	for _, tt := range tests {
		f := xiaomiForm("r1")
		tt.edit(f)
		got := xiaomiCheck(f, strings.Split(f.Get("registration_id"), ","), app)
		if (tt.field == "") != (got == "") || !strings.HasPrefix(got, tt.field) {
			t.Errorf("%s: xiaomiCheck = %q, want a refusal of %q", tt.name, got, tt.field)
		}
	}
}

// xiaomiPost sends a form or a GET over h2 or HTTP/1.1 and decodes the
// answer.
func xiaomiDo(t *testing.T, c *http.Client, method, u, key string,
	form url.Values) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Authorization", "key="+key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %q: %v", raw, err)
	}
	return resp.StatusCode, out
}

func TestXiaomiServerOverBothProtocols(t *testing.T) {
	sim, creds := startSim(t)
	base := sim.Endpoint(VendorXiaomi)
	key := creds.Vendors[VendorXiaomi]["app_secret"]

	for _, h2 := range []bool{true, false} {
		c := fakeClient(t, sim, h2)
		status, ans := xiaomiDo(t, c, "POST", base+xiaomiSendPath, key, xiaomiForm("r1"))
		data, _ := ans["data"].(map[string]any)
		if status != 200 || ans["result"] != "ok" || ans["code"] != 0.0 || data["id"] == "" {
			t.Errorf("h2=%v: send = %d %v, want ok with an id", h2, status, ans)
		}
	}

	c := fakeClient(t, sim, true)
	status, ans := xiaomiDo(t, c, "POST", base+xiaomiSendPath, "wrong", xiaomiForm("r1"))
	if status != 401 || ans["result"] != "error" || ans["code"] != 21301.0 {
		t.Errorf("wrong key: %d %v, want 401 code 21301", status, ans)
	}
	bad := xiaomiForm("r1")
	bad.Del("title")
	status, ans = xiaomiDo(t, c, "POST", base+xiaomiSendPath, key, bad)
	if status != 200 || ans["code"] != 21305.0 {
		t.Errorf("no title: %d %v, want code 21305", status, ans)
	}

	// Dead regIds in a list are accepted, then listed once.
	xiaomiDo(t, c, "POST", base+xiaomiSendPath, key, xiaomiForm("deadX,r2,baddevY"))
	_, ans = xiaomiDo(t, c, "GET", base+xiaomiFeedbackPath, key, nil)
	list, _ := ans["data"].(map[string]any)["list"].([]any)
	if len(list) != 2 || list[0] != "deadX" || list[1] != "baddevY" {
		t.Errorf("feedback = %v, want [deadX baddevY]", ans)
	}
	_, ans = xiaomiDo(t, c, "GET", base+xiaomiFeedbackPath, key, nil)
	if list, _ := ans["data"].(map[string]any)["list"].([]any); len(list) != 0 {
		t.Errorf("second feedback = %v, want an empty list", ans)
	}

	// Reset empties the queue.
	xiaomiDo(t, c, "POST", base+xiaomiSendPath, key, xiaomiForm("deadZ"))
	sim.Reset()
	_, ans = xiaomiDo(t, c, "GET", base+xiaomiFeedbackPath, key, nil)
	if list, _ := ans["data"].(map[string]any)["list"].([]any); len(list) != 0 {
		t.Errorf("feedback after Reset = %v, want an empty list", ans)
	}
}
