package e2e

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-im/herald/vendorsim"
)

// startSimHW writes credentials with vendorsim.GenCreds in-process and
// starts the vendorsim binary on them, so the test knows the huawei and
// honor notifier fields. It returns the sim, every vendor's base URL and
// the credentials.
func startSimHW(t *testing.T) (*sim, map[string]string, *vendorsim.Creds) {
	t.Helper()
	dir := t.TempDir()
	creds, err := vendorsim.GenCreds(filepath.Join(dir, "creds"))
	if err != nil {
		t.Fatalf("GenCreds: %v", err)
	}
	addrFile := filepath.Join(dir, "addrs.json")
	caFile := filepath.Join(dir, "ca.pem")
	p := start(t, "vendorsim", nil, "-config", creds.ConfigFile,
		"-addr-file", addrFile, "-ca-out", caFile, "-control", "127.0.0.1:0")

	var addrs map[string]string
	waitFor(t, "vendorsim address file", 20*time.Second, func() bool {
		b, err := os.ReadFile(addrFile)
		return err == nil && json.Unmarshal(b, &addrs) == nil && addrs["control"] != "" &&
			addrs["huawei"] != "" && addrs["honor"] != ""
	})
	return &sim{proc: p, apns: addrs["apns"], control: addrs["control"], caFile: caFile,
		creds: creds.Dir}, addrs, creds
}

// hwNotifier creates a notifier of provider over REST, endpoint and
// auth_endpoint at vendorsim, and checks the secret is hidden.
func hwNotifier(t *testing.T, q *quickstart, name, provider, base string,
	creds map[string]string) {
	t.Helper()
	var created envelope
	if code := httpJSON(t, "POST", q.node.url("/push/notifiers"), q.token, map[string]any{
		"name": name, "provider": provider, "endpoint": base, "auth_endpoint": base,
		"credentials": creds,
	}, &created); code != 200 {
		t.Fatalf("create %s notifier: status %d %+v", provider, code, created)
	}
	shown, _ := created.Data["credentials"].(map[string]any)
	if shown["client_secret"] != "******" {
		t.Errorf("notifier answer shows client_secret = %v, want ******",
			shown["client_secret"])
	}
}

// hwBind makes token on notifier the only binding of bob's device d1.
func hwBind(t *testing.T, q *quickstart, token, notifier string) {
	t.Helper()
	var bound envelope
	for _, b := range []map[string]any{
		{"device_id": "d1", "device_token": "", "notifier_name": ""},
		{"device_id": "d1", "device_token": token, "notifier_name": notifier},
	} {
		if code := httpJSON(t, "PUT", q.node.url("/users/bob/push/binding"), q.token, b,
			&bound); code != 200 {
			t.Fatalf("bind %v: status %d %+v", b, code, bound)
		}
	}
}

// hwPush sends a one-to-one text from alice to bob with ext.
func hwPush(t *testing.T, q *quickstart, msgID string, ext map[string]any) map[string]any {
	t.Helper()
	var res envelope
	msg := map[string]any{
		"msg_id": msgID, "from": "alice", "chat_type": "chat", "to": []string{"bob"},
		"body": map[string]any{"type": "txt", "text": "hi"},
	}
	if ext != nil {
		msg["ext"] = ext
	}
	if code := httpJSON(t, "POST", q.node.url("/push/messages"), q.token, msg,
		&res); code != 200 {
		t.Fatalf("push %s: status %d %+v", msgID, code, res)
	}
	return res.Data
}

// hwTokenFetches reads vendor's token_fetches from the counters API.
func hwTokenFetches(t *testing.T, s *sim, vendor string) float64 {
	t.Helper()
	var counters map[string]map[string]any
	if code := httpJSON(t, "GET", s.control+"/_sim/counters", "", nil, &counters); code != 200 {
		t.Fatalf("counters: status %d", code)
	}
	n, _ := counters[vendor]["token_fetches"].(float64)
	return n
}

// hwCustom decodes a data field: the custom keys as JSON text.
func hwCustom(t *testing.T, data any) map[string]any {
	t.Helper()
	text, ok := data.(string)
	var custom map[string]any
	if !ok || json.Unmarshal([]byte(text), &custom) != nil {
		t.Fatalf("data = %#v, want the custom keys as JSON text", data)
	}
	return custom
}

// hwDeadUnbinds binds a dead token, pushes, and waits for the binding to
// go (SPEC.md §2.6).
func hwDeadUnbinds(t *testing.T, s *sim, q *quickstart, vendor, notifier string) {
	t.Helper()
	dead := "dead" + hexToken(vendor)[4:]
	hwBind(t, q, dead, notifier)
	if res := hwPush(t, q, vendor+"-dead", nil); res["failed"] != float64(1) {
		t.Fatalf("push to a dead token answered %v, want 1 failed", res)
	}
	s.wait(t, 1, url.Values{"vendor": {vendor}, "token": {dead},
		"outcome": {"token-invalid"}})
	waitFor(t, "the dead binding to be removed", 10*time.Second, func() bool {
		return len(q.bindings(t)) == 0
	})
}

func TestVendorHuawei(t *testing.T) {
	s, addrs, creds := startSimHW(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	fields := map[string]string{"category": "IM", "badge_class": "com.example.herald.Main",
		"channel_id": "im-messages"}
	for k, v := range creds.Vendors["huawei"] {
		fields[k] = v
	}
	hwNotifier(t, q, "hw", "huawei", addrs["huawei"], fields)
	token := "0" + hexToken("huawei-bob")[1:]
	hwBind(t, q, token, "hw")

	ext := map[string]any{
		"em_apns_ext":         map[string]any{"em_push_collapse_key": "ck-1", "em_push_badge": 7},
		"em_android_push_ext": map[string]any{"huawei_receipt_id": "RCP1"},
	}
	if res := hwPush(t, q, "hw-1", ext); res["pushed"] != float64(1) {
		t.Fatalf("push answered %v, want 1 pushed", res)
	}
	r := s.wait(t, 1, url.Values{"vendor": {"huawei"}, "token": {token}})[0]
	if r.Status != 200 || r.Outcome != "delivered" {
		t.Errorf("vendorsim answered %d %q, want 200 delivered", r.Status, r.Outcome)
	}
	if want := "/v2/" + fields["project_id"] + "/messages:send"; r.Path != want {
		t.Errorf("path = %q, want %q", r.Path, want)
	}
	if r.Headers["content-type"] != "application/json;charset=UTF-8" ||
		r.Auth.Scheme != "bearer" || r.Auth.Subject != fields["client_id"] {
		t.Errorf("content-type %q auth %+v", r.Headers["content-type"], r.Auth)
	}

	msg, _ := r.Payload["message"].(map[string]any)
	if toks, _ := msg["token"].([]any); len(toks) != 1 || toks[0] != token {
		t.Errorf("message.token = %v, want [%s]", msg["token"], token)
	}
	custom := hwCustom(t, msg["data"])
	checkHWCustom(t, custom, "hw-1", "ck-1")

	android, _ := msg["android"].(map[string]any)
	wantAndroid := map[string]any{"urgency": "HIGH", "category": "IM", "ttl": "86400s",
		"target_user_type": 0.0, "receipt_id": "RCP1"}
	for k, want := range wantAndroid {
		if android[k] != want {
			t.Errorf("android.%s = %v, want %v", k, android[k], want)
		}
	}
	note, _ := android["notification"].(map[string]any)
	wantNote := map[string]any{"title": "您有一条新消息", "body": "请点击查看",
		"channel_id": "im-messages", "default_sound": true, "tag": "ck-1"}
	for k, want := range wantNote {
		if note[k] != want {
			t.Errorf("notification.%s = %v, want %v", k, note[k], want)
		}
	}
	badge, _ := note["badge"].(map[string]any)
	if badge["class"] != "com.example.herald.Main" || badge["set_num"] != 7.0 {
		t.Errorf("notification.badge = %v, want class and set_num 7", note["badge"])
	}
	if click, _ := note["click_action"].(map[string]any); click["type"] != 3.0 {
		t.Errorf("notification.click_action = %v, want type 3", note["click_action"])
	}

	// A second push reuses the access token.
	hwPush(t, q, "hw-2", nil)
	s.wait(t, 2, url.Values{"vendor": {"huawei"}, "token": {token}})
	if got := hwTokenFetches(t, s, "huawei"); got != 1 {
		t.Errorf("huawei token fetches = %v, want 1 for two pushes", got)
	}

	hwDeadUnbinds(t, s, q, "huawei", "hw")
}

// checkHWCustom asserts the custom keys of SPEC.md §7.3 for alice → bob:
// f, t, m, and e = what remains of em_apns_ext.
func checkHWCustom(t *testing.T, custom map[string]any, msgID, collapseKey string) {
	t.Helper()
	for k, want := range map[string]string{"f": "alice", "t": "bob", "m": msgID} {
		if custom[k] != want {
			t.Errorf("custom %s = %v, want %q", k, custom[k], want)
		}
	}
	e, _ := custom["e"].(map[string]any)
	if len(custom) != 4 || e["em_push_collapse_key"] != collapseKey {
		t.Errorf("custom = %v, want f, t, m and e with the collapse key", custom)
	}
}
