package e2e

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herald-im/herald/vendorsim"
)

// vmSim is a vendorsim process started on credentials generated in
// process, so the test knows every vendor's credential fields.
type vmSim struct {
	*sim
	creds *vendorsim.Creds
	addrs map[string]string
}

// vmStartSim generates credentials with vendorsim.GenCreds and starts the
// vendorsim binary on them (the vivo and Meizu tests' startSimWithCreds).
func vmStartSim(t *testing.T, vendors ...string) *vmSim {
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
		if err != nil || json.Unmarshal(b, &addrs) != nil || addrs["control"] == "" {
			return false
		}
		for _, v := range vendors {
			if addrs[v] == "" {
				return false
			}
		}
		return true
	})
	s := &sim{proc: p, apns: addrs["apns"], control: addrs["control"], caFile: caFile,
		creds: creds.Dir}
	return &vmSim{sim: s, creds: creds, addrs: addrs}
}

// vmApp is an app with one notifier and bob's device d1 bound to it.
type vmApp struct {
	node     *node
	token    string
	notifier string
}

// vmSetUp creates app org1/app1, a notifier of provider on the emulator
// with the generated credentials plus extra, and binds bob's offline
// device d1 to deviceToken.
func vmSetUp(t *testing.T, s *vmSim, n *node, provider string, extra map[string]string,
	deviceToken string) *vmApp {

	t.Helper()
	var created envelope
	if code := httpJSON(t, "POST", n.http+"/management/orgs/org1/apps", bootstrapToken,
		map[string]any{"name": "app1"}, &created); code != 200 {
		t.Fatalf("create app: status %d %+v", code, created)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code := httpJSON(t, "POST", n.url("/token"), "", map[string]any{
		"grant_type": "client_credentials", "client_id": created.Data["client_id"],
		"client_secret": created.Data["client_secret"],
	}, &tok); code != 200 || tok.AccessToken == "" {
		t.Fatalf("token: status %d", code)
	}
	a := &vmApp{node: n, token: tok.AccessToken, notifier: provider + "-1"}

	creds := map[string]any{}
	for k, v := range s.creds.Vendors[provider] {
		creds[k] = v
	}
	for k, v := range extra {
		creds[k] = v
	}
	var made envelope
	if code := httpJSON(t, "POST", n.url("/push/notifiers"), a.token, map[string]any{
		"name": a.notifier, "provider": provider, "endpoint": s.addrs[provider],
		"auth_endpoint": s.addrs[provider], "credentials": creds,
	}, &made); code != 200 {
		t.Fatalf("create %s notifier: status %d %+v", provider, code, made)
	}
	shown, _ := made.Data["credentials"].(map[string]any)
	if shown["app_secret"] != "******" {
		t.Errorf("notifier answer shows app_secret %v, want ******", shown["app_secret"])
	}

	a.bind(t, deviceToken)
	var presence envelope
	if code := httpJSON(t, "PUT", n.url("/users/bob/presence/d1"), a.token,
		map[string]any{"state": "offline"}, &presence); code != 200 {
		t.Fatalf("presence: status %d %+v", code, presence)
	}
	return a
}

func (a *vmApp) bind(t *testing.T, deviceToken string) {
	t.Helper()
	var bound envelope
	if code := httpJSON(t, "PUT", a.node.url("/users/bob/push/binding"), a.token,
		map[string]any{"device_id": "d1", "device_token": deviceToken,
			"notifier_name": a.notifier}, &bound); code != 200 || len(bound.Entities) != 1 {
		t.Fatalf("bind: status %d %+v", code, bound)
	}
}

func (a *vmApp) bindings(t *testing.T) []map[string]any {
	t.Helper()
	var got envelope
	if code := httpJSON(t, "GET", a.node.url("/users/bob/push/binding"), a.token, nil,
		&got); code != 200 {
		t.Fatalf("get bindings: status %d %+v", code, got)
	}
	return got.Entities
}

// push sends a text message from alice to bob with ext.
func (a *vmApp) push(t *testing.T, msgID string, ext map[string]any) map[string]any {
	t.Helper()
	msg := map[string]any{"msg_id": msgID, "from": "alice", "chat_type": "chat",
		"to": []string{"bob"}, "body": map[string]any{"type": "txt", "text": "hi"}}
	if ext != nil {
		msg["ext"] = ext
	}
	var res envelope
	if code := httpJSON(t, "POST", a.node.url("/push/messages"), a.token, msg,
		&res); code != 200 {
		t.Fatalf("push %s: status %d %+v", msgID, code, res)
	}
	return res.Data
}

// keysOf lists m's keys, sorted.
func keysOf(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// TestVendorVivo pushes through a vivo notifier on vendorsim and checks
// the request is exactly vivo's format (VENDORS.md §2.7, SPEC.md §10),
// then that a dead regId unbinds the device.
func TestVendorVivo(t *testing.T) {
	s := vmStartSim(t, vendorsim.VendorVivo)
	n := startNode(t, s.sim, t.TempDir())
	a := vmSetUp(t, s, n, vendorsim.VendorVivo, nil, "regid-bob-d1")
	fields := s.creds.Vendors[vendorsim.VendorVivo]

	if res := a.push(t, "v1", nil); res["pushed"] != float64(1) {
		t.Fatalf("push v1 answered %v, want 1 pushed", res)
	}
	r := s.wait(t, 1, url.Values{"vendor": {"vivo"}})[0]
	if r.Status != 200 || r.Outcome != "delivered" || r.Path != "/message/send" ||
		r.Token != "regid-bob-d1" || r.Auth.Subject != fields["app_id"] {
		t.Errorf("record = %+v", r)
	}
	if r.Headers["authtoken"] != "***" {
		t.Errorf("authToken header recorded as %q, want masked", r.Headers["authtoken"])
	}
	const keys = "appId,classification,clientCustomMap,content,notifyType,pushMode,regId," +
		"requestId,skipType,timeToLive,title"
	if got := keysOf(r.Payload); got != keys {
		t.Errorf("request fields %s\nwant %s", got, keys)
	}
	want := map[string]any{"appId": fields["app_id"], "regId": "regid-bob-d1",
		"notifyType": 4.0, "title": "您有一条新消息", "content": "请点击查看",
		"timeToLive": 86400.0, "skipType": 1.0, "classification": 1.0, "pushMode": 0.0}
	for k, v := range want {
		if r.Payload[k] != v {
			t.Errorf("%s = %v, want %v", k, r.Payload[k], v)
		}
	}
	if id, _ := r.Payload["requestId"].(string); len(id) != 36 {
		t.Errorf("requestId = %v, want the push's 36-character id", r.Payload["requestId"])
	}
	custom, _ := json.Marshal(r.Payload["clientCustomMap"])
	if string(custom) != `{"f":"alice","m":"v1","t":"bob"}` {
		t.Errorf("clientCustomMap = %s", custom)
	}

	// em_android_push_ext picks the category and the activity a tap opens.
	a.push(t, "v2", map[string]any{"em_android_push_ext": map[string]any{
		"vivo_category": "IM", "vivo_click_activity": "com.example.Chat"}})
	r = s.wait(t, 2, url.Values{"vendor": {"vivo"}})[1]
	if r.Outcome != "delivered" || r.Payload["category"] != "IM" ||
		r.Payload["skipType"] != 4.0 || r.Payload["skipContent"] != "com.example.Chat" {
		t.Errorf("ext push: %s %v", r.Outcome, r.Payload)
	}

	// A dead regId: vivo answers 10302 and Herald deletes the binding.
	a.bind(t, "dead-bob-d1")
	if res := a.push(t, "v3", nil); res["failed"] != float64(1) {
		t.Fatalf("push to a dead regId answered %v, want 1 failed", res)
	}
	s.wait(t, 1, url.Values{"token": {"dead-bob-d1"}, "outcome": {"token-invalid"}})
	waitFor(t, "the dead binding to be removed", 10*time.Second, func() bool {
		return len(a.bindings(t)) == 0
	})
	if strings.Contains(n.output(), fields["app_secret"]) {
		t.Error("herald logged the vivo app secret")
	}
}
