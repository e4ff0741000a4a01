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

// startSimXO writes credentials with vendorsim.GenCreds in-process and
// starts the vendorsim binary on them, so the test knows every vendor's
// notifier fields. It returns the sim, every vendor's base URL and the
// credentials.
func startSimXO(t *testing.T) (*sim, map[string]string, *vendorsim.Creds) {
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
			addrs["oppo"] != "" && addrs["xiaomi"] != ""
	})
	return &sim{proc: p, apns: addrs["apns"], control: addrs["control"], caFile: caFile,
		creds: creds.Dir}, addrs, creds
}

// addNotifier creates a notifier over REST and checks that the answer
// hides the named secrets.
func (q *quickstart) addNotifier(t *testing.T, name, provider, base string,
	creds map[string]string, secrets ...string) {
	t.Helper()
	var created envelope
	if code := httpJSON(t, "POST", q.node.url("/push/notifiers"), q.token, map[string]any{
		"name": name, "provider": provider, "endpoint": base, "auth_endpoint": base,
		"credentials": creds,
	}, &created); code != 200 {
		t.Fatalf("create %s notifier: status %d %+v", provider, code, created)
	}
	shown, _ := created.Data["credentials"].(map[string]any)
	for _, s := range secrets {
		if shown[s] != "******" {
			t.Errorf("notifier answer shows %s = %v, want ******", s, shown[s])
		}
	}
}

// bindTo makes token on notifier the only binding of bob's device d1.
func (q *quickstart) bindTo(t *testing.T, token, notifier string) {
	t.Helper()
	var bound envelope
	if code := httpJSON(t, "PUT", q.node.url("/users/bob/push/binding"), q.token,
		map[string]any{"device_id": "d1", "device_token": "", "notifier_name": ""},
		&bound); code != 200 {
		t.Fatalf("unbind d1: status %d %+v", code, bound)
	}
	if code := httpJSON(t, "PUT", q.node.url("/users/bob/push/binding"), q.token,
		map[string]any{"device_id": "d1", "device_token": token, "notifier_name": notifier},
		&bound); code != 200 {
		t.Fatalf("bind d1 to %s: status %d %+v", notifier, code, bound)
	}
}

// pushExt sends a one-to-one text from alice to bob with ext.
func (q *quickstart) pushExt(t *testing.T, msgID string, ext map[string]any) map[string]any {
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

// checkCustom asserts the custom keys of SPEC.md §7.3 for alice → bob:
// f, t, m, and e = what remains of em_apns_ext, here the collapse key.
func checkCustom(t *testing.T, custom map[string]any, msgID, collapseKey string) {
	t.Helper()
	for k, want := range map[string]string{"f": "alice", "t": "bob", "m": msgID} {
		if custom[k] != want {
			t.Errorf("custom %s = %v, want %q", k, custom[k], want)
		}
	}
	e, _ := custom["e"].(map[string]any)
	if len(custom) != 4 || len(e) != 1 || e["em_push_collapse_key"] != collapseKey {
		t.Errorf("custom = %v, want f, t, m and e with the collapse key", custom)
	}
}

func TestVendorOPPO(t *testing.T) {
	s, addrs, creds := startSimXO(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	fields := map[string]string{"channel_id": "im_msg", "category": "IM", "notify_level": "2"}
	for k, v := range creds.Vendors["oppo"] {
		fields[k] = v
	}
	q.addNotifier(t, "oppo-1", "oppo", addrs["oppo"], fields, "app_key", "master_secret")
	const token = "OPPO_CN_0123456789abcdef"
	q.bindTo(t, token, "oppo-1")

	ext := map[string]any{
		"em_apns_ext":         map[string]any{"em_push_collapse_key": "ck-1"},
		"em_android_push_ext": map[string]any{"oppo_click_activity": "im.herald.demo.Chat"},
	}
	if res := q.pushExt(t, "o1", ext); res["pushed"] != float64(1) {
		t.Fatalf("push o1 answered %v, want 1 pushed", res)
	}
	r := s.wait(t, 1, url.Values{"vendor": {"oppo"}})[0]
	if r.Status != 200 || r.Outcome != "delivered" || r.Token != token ||
		r.Path != "/server/v1/message/notification/unicast" {
		t.Fatalf("oppo record = %+v, want a delivered unicast to %s", r, token)
	}
	if r.Payload["auth_token"] != "***" || r.Headers["auth_token"] != "***" {
		t.Errorf("auth_token form %v header %q, want both sent (and masked)",
			r.Payload["auth_token"], r.Headers["auth_token"])
	}

	// The message exactly as VENDORS.md §2.6 has it.
	msg, _ := r.Payload["message"].(map[string]any)
	note, _ := msg["notification"].(map[string]any)
	if msg["target_type"] != 2.0 || msg["target_value"] != token {
		t.Errorf("message target = %v/%v", msg["target_type"], msg["target_value"])
	}
	want := map[string]any{
		"title": "您有一条新消息", "content": "请点击查看", "style": 1.0,
		"click_action_type": 4.0, "click_action_activity": "im.herald.demo.Chat",
		"channel_id": "im_msg", "category": "IM", "notify_level": 2.0,
		"off_line": true, "off_line_ttl": 86400.0,
	}
	for k, v := range want {
		if note[k] != v {
			t.Errorf("notification.%s = %v, want %v", k, note[k], v)
		}
	}
	if len(note) != len(want)+1 {
		t.Errorf("notification = %v, want exactly %d fields (no badge, sound or "+
			"collapse key: OPPO has none)", note, len(want)+1)
	}
	var custom map[string]any
	params, _ := note["action_parameters"].(string)
	if err := json.Unmarshal([]byte(params), &custom); err != nil {
		t.Fatalf("action_parameters %q: %v", params, err)
	}
	checkCustom(t, custom, "o1", "ck-1")

	// The auth_token is fetched once and reused.
	q.pushExt(t, "o2", nil)
	s.wait(t, 2, url.Values{"vendor": {"oppo"}})
	var counters map[string]struct {
		TokenFetches int `json:"token_fetches"`
	}
	if code := httpJSON(t, "GET", s.control+"/_sim/counters", "", nil, &counters); code != 200 ||
		counters["oppo"].TokenFetches != 1 {
		t.Errorf("oppo token fetches = %+v (status %d), want 1", counters["oppo"], code)
	}

	// Code 10000 unbinds the device.
	dead := "deadOPPO0123456789"
	q.bindTo(t, dead, "oppo-1")
	if res := q.pushExt(t, "o3", nil); res["failed"] != float64(1) {
		t.Fatalf("push to a dead regId answered %v, want 1 failed", res)
	}
	s.wait(t, 1, url.Values{"token": {dead}, "outcome": {"token-invalid"}})
	waitFor(t, "the dead oppo binding to be removed", 10*time.Second, func() bool {
		return len(q.bindings(t)) == 0
	})
}
