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

// fcmSim is a vendorsim process serving credentials made in-process, so
// the test holds the service account it gives Herald.
type fcmSim struct {
	*sim
	fcm     string // FCM base URL, also the token endpoint's
	account map[string]string
}

// fcmStartSim writes credentials with vendorsim.GenCreds and starts the
// vendorsim binary on them.
func fcmStartSim(t *testing.T) *fcmSim {
	t.Helper()
	dir := t.TempDir()
	creds, err := vendorsim.GenCreds(filepath.Join(dir, "creds"))
	if err != nil {
		t.Fatalf("gen creds: %v", err)
	}
	addrFile := filepath.Join(dir, "addrs.json")
	caFile := filepath.Join(dir, "ca.pem")
	p := start(t, "vendorsim", nil, "-config", creds.ConfigFile,
		"-addr-file", addrFile, "-ca-out", caFile, "-control", "127.0.0.1:0")

	var addrs map[string]string
	waitFor(t, "vendorsim address file", 20*time.Second, func() bool {
		b, err := os.ReadFile(addrFile)
		return err == nil && json.Unmarshal(b, &addrs) == nil && addrs["fcm"] != "" &&
			addrs["control"] != ""
	})
	return &fcmSim{
		sim: &sim{proc: p, apns: addrs["apns"], control: addrs["control"], caFile: caFile,
			creds: creds.Dir},
		fcm:     addrs["fcm"],
		account: creds.Vendors[vendorsim.VendorFCM],
	}
}

// fcmSetUp makes an app with an fcm notifier on the emulator and returns
// an app token.
func fcmSetUp(t *testing.T, s *fcmSim, n *node) string {
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

	// The service account goes in as the JSON object itself.
	var account map[string]any
	if err := json.Unmarshal([]byte(s.account["service_account"]), &account); err != nil {
		t.Fatal(err)
	}
	var notifier envelope
	if code := httpJSON(t, "POST", n.url("/push/notifiers"), tok.AccessToken, map[string]any{
		"name": "fcm", "provider": "fcm", "endpoint": s.fcm, "auth_endpoint": s.fcm,
		"credentials": map[string]any{"service_account": account, "channel_id": "chat",
			"sound": "ping"},
	}, &notifier); code != 200 {
		t.Fatalf("create notifier: status %d %+v", code, notifier)
	}
	creds, _ := notifier.Data["credentials"].(map[string]any)
	if creds["service_account"] != "******" {
		t.Fatalf("notifier answer shows service_account %v, want ******",
			creds["service_account"])
	}
	return tok.AccessToken
}

// fcmBind binds user's device d1 to the fcm notifier and reports it offline.
func fcmBind(t *testing.T, n *node, token, user, deviceToken string) {
	t.Helper()
	var bound envelope
	if code := httpJSON(t, "PUT", n.url("/users/"+user+"/push/binding"), token,
		map[string]any{"device_id": "d1", "device_token": deviceToken, "notifier_name": "fcm"},
		&bound); code != 200 || len(bound.Entities) != 1 {
		t.Fatalf("bind %s: status %d %+v", user, code, bound)
	}
	if code := httpJSON(t, "PUT", n.url("/users/"+user+"/presence/d1"), token,
		map[string]any{"state": "offline"}, nil); code != 200 {
		t.Fatalf("presence %s: status %d", user, code)
	}
}

// fcmPush sends one message over REST and returns the answer's data.
func fcmPush(t *testing.T, n *node, token, msgID, to string,
	ext map[string]any) map[string]any {
	t.Helper()
	m := map[string]any{"msg_id": msgID, "from": "alice", "chat_type": "chat",
		"to": []string{to}, "body": map[string]any{"type": "txt", "text": "hi"}}
	if ext != nil {
		m["ext"] = ext
	}
	var res envelope
	if code := httpJSON(t, "POST", n.url("/push/messages"), token, m, &res); code != 200 {
		t.Fatalf("push %s: status %d %+v", msgID, code, res)
	}
	return res.Data
}

// fcmWant is what one FCM request must carry.
type fcmWant struct {
	token, sound, channel, tag, collapseKey, msgID string
	badge                                          float64
	fcmOptions                                     map[string]any
	// e is the custom key e as FCM data carries it: JSON text.
	e string
}

// check asserts the request is exactly FCM HTTP v1's send format (SPEC.md
// §10, VENDORS.md §2.2) for a style-0 text message from alice.
func (w fcmWant) check(t *testing.T, s *fcmSim, r simRecord) {
	t.Helper()
	var account struct {
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
	}
	_ = json.Unmarshal([]byte(s.account["service_account"]), &account)
	if r.Status != 200 || r.Outcome != "delivered" {
		t.Errorf("vendorsim answered %d %q, want 200 delivered", r.Status, r.Outcome)
	}
	if r.Path != "/v1/projects/"+account.ProjectID+"/messages:send" || r.Token != w.token {
		t.Errorf("path %q token %q", r.Path, r.Token)
	}
	if r.Auth.Scheme != "bearer" || r.Auth.Subject != account.ClientEmail {
		t.Errorf("auth = %+v, want the access token of %s", r.Auth, account.ClientEmail)
	}

	want := map[string]any{"message": map[string]any{
		"token":        w.token,
		"notification": map[string]any{"title": "您有一条新消息", "body": "请点击查看"},
		"data":         map[string]any{"f": "alice", "t": "bob", "m": w.msgID},
		"android": map[string]any{
			"priority": "HIGH", "ttl": "86400s",
			"notification": map[string]any{"sound": w.sound, "channel_id": w.channel,
				"notification_count": w.badge, "tag": w.tag},
		},
	}}
	msg := want["message"].(map[string]any)
	if w.collapseKey != "" {
		msg["android"].(map[string]any)["collapse_key"] = w.collapseKey
	}
	if w.fcmOptions != nil {
		msg["fcm_options"] = w.fcmOptions
	}
	if w.e != "" {
		msg["data"].(map[string]any)["e"] = w.e
	}
	got, _ := json.Marshal(r.Payload)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Errorf("FCM request\n got %s\nwant %s", got, exp)
	}
}

func TestVendorFCMEndToEnd(t *testing.T) {
	s := fcmStartSim(t)
	n := startNode(t, s.sim, t.TempDir())
	token := fcmSetUp(t, s, n)
	const bobToken = "bob-fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"
	fcmBind(t, n, token, "bob", bobToken)

	// Defaults: notifier sound and channel, tag = msg id, no collapse_key.
	if res := fcmPush(t, n, token, "m1", "bob", nil); res["pushed"] != float64(1) {
		t.Fatalf("push m1 answered %v, want 1 pushed", res)
	}
	recs := s.wait(t, 1, url.Values{"vendor": {"fcm"}})
	fcmWant{token: bobToken, sound: "ping", channel: "chat", tag: "m1", msgID: "m1",
		badge: 1}.check(t, s, recs[0])

	// Ext keys override the notifier; an explicit collapse key also goes
	// in android.collapse_key, and the rest of em_apns_ext becomes e
	// (SPEC.md §7.3), sent as JSON text.
	fcmPush(t, n, token, "m2", "bob", map[string]any{
		"em_apns_ext": map[string]any{"em_push_collapse_key": "chat-bob"},
		"em_android_push_ext": map[string]any{"fcm_channel_id": "urgent",
			"em_push_sound": "/raw/ring", "fcm_options": map[string]any{"analytics_label": "im"}},
	})
	recs = s.wait(t, 2, url.Values{"vendor": {"fcm"}})
	fcmWant{token: bobToken, sound: "/raw/ring", channel: "urgent", tag: "chat-bob",
		collapseKey: "chat-bob", msgID: "m2", badge: 2,
		fcmOptions: map[string]any{"analytics_label": "im"},
		e:          `{"em_push_collapse_key":"chat-bob"}`}.check(t, s, recs[1])

	// One access token served both pushes.
	var counters map[string]struct {
		TokenFetches int `json:"token_fetches"`
	}
	if code := httpJSON(t, "GET", s.control+"/_sim/counters", "", nil, &counters); code != 200 ||
		counters["fcm"].TokenFetches != 1 {
		t.Errorf("token fetches = %+v (status %d), want 1", counters["fcm"], code)
	}
}

func TestVendorFCMDeadTokenUnbinds(t *testing.T) {
	s := fcmStartSim(t)
	n := startNode(t, s.sim, t.TempDir())
	token := fcmSetUp(t, s, n)
	fcmBind(t, n, token, "carol", "dead-carol-1")

	if res := fcmPush(t, n, token, "d1", "carol", nil); res["failed"] != float64(1) {
		t.Fatalf("push to a dead token answered %v, want 1 failed", res)
	}
	recs := s.wait(t, 1, url.Values{"vendor": {"fcm"}, "outcome": {"token-invalid"}})
	if recs[0].Token != "dead-carol-1" || recs[0].Status != 404 {
		t.Fatalf("record = %+v, want 404 for the dead token", recs[0])
	}
	waitFor(t, "carol's binding removed", 20*time.Second, func() bool {
		var b envelope
		code := httpJSON(t, "GET", n.url("/users/carol/push/binding"), token, nil, &b)
		return code == 200 && len(b.Entities) == 0
	})
}
