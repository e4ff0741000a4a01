package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-im/herald/client"
	"github.com/herald-im/herald/messages"
)

// envelope is the part of Herald's REST envelope the tests read.
type envelope struct {
	Data     map[string]any   `json:"data"`
	Entities []map[string]any `json:"entities"`
	Error    string           `json:"error"`
	Desc     string           `json:"error_description"`
}

// quickstart is the README's walk-through: an app, a token, an APNs
// notifier pointing at vendorsim, a bound offline device.
type quickstart struct {
	sim    *sim
	node   *node
	token  string
	bundle string
	team   string
	device string
}

func setUp(t *testing.T, s *sim, n *node) *quickstart {
	t.Helper()
	q := &quickstart{sim: s, node: n, device: hexToken("bob-d1")}

	// Create the app with the bootstrap admin token.
	var created envelope
	if code := httpJSON(t, "POST", n.http+"/management/orgs/org1/apps", bootstrapToken,
		map[string]any{"name": "app1"}, &created); code != 200 {
		t.Fatalf("create app: status %d %+v", code, created)
	}
	clientID, _ := created.Data["client_id"].(string)
	secret, _ := created.Data["client_secret"].(string)
	if clientID == "" || secret == "" {
		t.Fatalf("create app answered no credentials: %+v", created.Data)
	}

	// An app token from the client credentials.
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if code := httpJSON(t, "POST", n.url("/token"), "", map[string]any{
		"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret,
	}, &tok); code != 200 || tok.AccessToken == "" {
		t.Fatalf("token: status %d %+v", code, tok)
	}
	q.token = tok.AccessToken

	// An APNs notifier with token (.p8) auth pointing at vendorsim.
	team, keyID, bundle, p8 := s.apnsCreds(t)
	q.bundle, q.team = bundle, team
	var notifier envelope
	if code := httpJSON(t, "POST", n.url("/push/notifiers"), q.token, map[string]any{
		"name": "apns-dev", "provider": "apns", "environment": "development",
		"endpoint": s.apns,
		"credentials": map[string]any{
			"bundle_id": bundle, "auth_type": "p8", "key_id": keyID, "team_id": team,
			"private_key": p8,
		},
	}, &notifier); code != 200 {
		t.Fatalf("create notifier: status %d %+v", code, notifier)
	}
	if pk, _ := notifier.Data["credentials"].(map[string]any)["private_key"].(string); pk != "******" {
		t.Fatalf("notifier answer shows private_key %q, want ******", pk)
	}

	// Bind bob's device and report it offline.
	var bound envelope
	if code := httpJSON(t, "PUT", n.url("/users/bob/push/binding"), q.token, map[string]any{
		"device_id": "d1", "device_token": q.device, "notifier_name": "apns-dev",
	}, &bound); code != 200 || len(bound.Entities) != 1 {
		t.Fatalf("bind: status %d %+v", code, bound)
	}
	var presence envelope
	if code := httpJSON(t, "PUT", n.url("/users/bob/presence/d1"), q.token,
		map[string]any{"state": "offline"}, &presence); code != 200 {
		t.Fatalf("presence: status %d %+v", code, presence)
	}
	return q
}

// checkAPNs asserts one APNs request exactly as SPEC.md §10 and §7.3 say
// for a style-0 text message from alice to bob.
func (q *quickstart) checkAPNs(t *testing.T, r simRecord, msgID string, badge int) {
	t.Helper()
	if r.Status != 200 || r.Outcome != "delivered" {
		t.Errorf("vendorsim answered %d %q, want 200 delivered", r.Status, r.Outcome)
	}
	if r.Token != q.device || r.Path != "/3/device/"+q.device {
		t.Errorf("token %q path %q, want %q", r.Token, r.Path, q.device)
	}
	if r.Auth.Scheme != "bearer" || r.Auth.Subject != q.team {
		t.Errorf("auth = %+v, want bearer JWT of team %q", r.Auth, q.team)
	}
	wantHeaders := map[string]string{
		"apns-topic": q.bundle, "apns-push-type": "alert", "apns-collapse-id": msgID,
	}
	for k, want := range wantHeaders {
		if got := r.Headers[k]; got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}

	aps, _ := r.Payload["aps"].(map[string]any)
	alert, _ := aps["alert"].(map[string]any)
	if alert["title"] != "您有一条新消息" || alert["body"] != "请点击查看" {
		t.Errorf("aps.alert = %v, want the default template", alert)
	}
	if got, _ := aps["badge"].(float64); int(got) != badge {
		t.Errorf("aps.badge = %v, want %d", aps["badge"], badge)
	}
	if aps["sound"] != "default" {
		t.Errorf("aps.sound = %v, want default", aps["sound"])
	}
	for k, want := range map[string]string{"f": "alice", "t": "bob", "m": msgID} {
		if r.Payload[k] != want {
			t.Errorf("payload %s = %v, want %q", k, r.Payload[k], want)
		}
	}
	if _, ok := r.Payload["g"]; ok {
		t.Errorf("payload has g in a one-to-one chat: %v", r.Payload)
	}
}

func (q *quickstart) pushREST(t *testing.T, msgID string) map[string]any {
	t.Helper()
	var res envelope
	if code := httpJSON(t, "POST", q.node.url("/push/messages"), q.token, map[string]any{
		"msg_id": msgID, "from": "alice", "chat_type": "chat", "to": []string{"bob"},
		"body": map[string]any{"type": "txt", "text": "hi"},
	}, &res); code != 200 {
		t.Fatalf("push %s: status %d %+v", msgID, code, res)
	}
	return res.Data
}

func TestQuickstartRESTAndClient(t *testing.T) {
	s := startSim(t)
	dataDir := t.TempDir()
	n := startNode(t, s, dataDir)
	q := setUp(t, s, n)

	// Over REST: the first missed message carries badge 1.
	res := q.pushREST(t, "m1")
	if res["pushed"] != float64(1) || res["recipients"] != float64(1) {
		t.Fatalf("push m1 answered %v, want 1 recipient pushed", res)
	}
	recs := s.wait(t, 1, url.Values{"vendor": {"apns"}})
	q.checkAPNs(t, recs[0], "m1", 1)

	// Resubmitting the same message pushes nothing and counts nothing.
	res = q.pushREST(t, "m1")
	if res["duplicate"] != true || res["pushed"] != float64(0) {
		t.Fatalf("resubmitted m1 answered %v, want duplicate", res)
	}

	// Through the Go client, as an IM core: the second carries badge 2.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{Seeds: []string{n.gossip}})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer c.Close()
	pr, err := c.Push(ctx, &messages.PushMessage{
		AppKey: "org1#app1", MsgId: "m2", From: "alice", ChatType: "chat",
		To: []string{"bob"}, Body: &messages.Body{Type: "txt", Text: "hi"},
	})
	if err != nil || pr.Error != nil || pr.Pushed != 1 {
		t.Fatalf("client push m2 = %v, %v; want 1 pushed", pr, err)
	}
	recs = s.wait(t, 2, url.Values{"vendor": {"apns"}})
	q.checkAPNs(t, recs[1], "m2", 2)

	// Presence through the client resets the counter when the device
	// comes online.
	reply, err := c.Presence(ctx, &messages.PresenceEvent{AppKey: "org1#app1", User: "bob",
		DeviceId: "d1", State: messages.PresenceState_PRESENCE_ONLINE})
	if err != nil || reply.Error != nil || reply.OfflineMsgCount != 0 {
		t.Fatalf("client presence online = %v, %v; want counter 0", reply, err)
	}
	reply, err = c.Presence(ctx, &messages.PresenceEvent{AppKey: "org1#app1", User: "bob",
		DeviceId: "d1", State: messages.PresenceState_PRESENCE_OFFLINE})
	if err != nil || reply.Error != nil {
		t.Fatalf("client presence offline = %v, %v", reply, err)
	}
	res = q.pushREST(t, "m3")
	recs = s.wait(t, 3, url.Values{"vendor": {"apns"}})
	q.checkAPNs(t, recs[2], "m3", 1)
	if got := len(s.wait(t, 3, url.Values{})); got != 3 {
		t.Fatalf("vendorsim received %d requests, want 3", got)
	}
	_ = res
}

// TestRestartKeepsState restarts the node on its data directory and checks
// that apps, tokens' app, notifiers, bindings and badges survived.
func TestRestartKeepsState(t *testing.T) {
	s := startSim(t)
	dataDir := t.TempDir()
	n := startNode(t, s, dataDir)
	q := setUp(t, s, n)
	q.pushREST(t, "r1")
	s.wait(t, 1, url.Values{"vendor": {"apns"}})

	n.stop(t)
	n = startNode(t, s, dataDir)
	q.node = n

	// The app token still verifies, the notifier and binding are there.
	var notifiers envelope
	if code := httpJSON(t, "GET", n.url("/push/notifiers/apns-dev"), q.token, nil,
		&notifiers); code != 200 {
		t.Fatalf("notifier after restart: status %d %+v", code, notifiers)
	}
	var bindings envelope
	if code := httpJSON(t, "GET", n.url("/users/bob/push/binding"), q.token, nil,
		&bindings); code != 200 || len(bindings.Entities) != 1 ||
		bindings.Entities[0]["device_token"] != q.device {
		t.Fatalf("bindings after restart: status %d %+v", code, bindings)
	}
	var count envelope
	if code := httpJSON(t, "GET", n.url("/users/bob/offline_msg_count"), q.token, nil,
		&count); code != 200 || count.Data["bob"] != float64(1) {
		t.Fatalf("offline_msg_count after restart: status %d %+v, want bob=1", code, count)
	}

	// The badge continues from the kept counter.
	q.pushREST(t, "r2")
	recs := s.wait(t, 2, url.Values{"vendor": {"apns"}})
	q.checkAPNs(t, recs[1], "r2", 2)

	// A message id seen before the restart is still a duplicate.
	if res := q.pushREST(t, "r1"); res["duplicate"] != true {
		t.Fatalf("r1 after restart answered %v, want duplicate", res)
	}
	if strings.Contains(n.output(), q.device) {
		t.Errorf("herald logged a full device token")
	}
}
