package e2e

import (
	"net/url"
	"strconv"
	"testing"
)

func TestVendorHonor(t *testing.T) {
	s, addrs, creds := startSimHW(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	fields := map[string]string{"badge_class": "com.example.herald.Main"}
	for k, v := range creds.Vendors["honor"] {
		fields[k] = v
	}
	hwNotifier(t, q, "hn", "honor", addrs["honor"], fields)
	token := "0" + hexToken("honor-bob")[1:]
	hwBind(t, q, token, "hn")

	ext := map[string]any{
		"em_apns_ext": map[string]any{"em_push_collapse_key": "ck-2", "em_push_badge": 4},
		"em_android_push_ext": map[string]any{"honor_importance": "LOW",
			"honor_click_action": "https://example.com/chat"},
	}
	if res := hwPush(t, q, "hn-1", ext); res["pushed"] != float64(1) {
		t.Fatalf("push answered %v, want 1 pushed", res)
	}
	r := s.wait(t, 1, url.Values{"vendor": {"honor"}, "token": {token}})[0]
	if r.Status != 200 || r.Outcome != "delivered" {
		t.Errorf("vendorsim answered %d %q, want 200 delivered", r.Status, r.Outcome)
	}
	if want := "/api/v1/" + fields["app_id"] + "/sendMessage"; r.Path != want {
		t.Errorf("path = %q, want %q", r.Path, want)
	}
	if ts, err := strconv.ParseInt(r.Headers["timestamp"], 10, 64); err != nil || ts <= 0 {
		t.Errorf("timestamp header = %q, want unix milliseconds", r.Headers["timestamp"])
	}
	if r.Auth.Scheme != "bearer" || r.Auth.Subject != fields["client_id"] {
		t.Errorf("auth = %+v, want bearer of client %s", r.Auth, fields["client_id"])
	}

	if toks, _ := r.Payload["token"].([]any); len(toks) != 1 || toks[0] != token {
		t.Errorf("token = %v, want [%s]", r.Payload["token"], token)
	}
	checkHWCustom(t, hwCustom(t, r.Payload["data"]), "hn-1", "ck-2")
	android, _ := r.Payload["android"].(map[string]any)
	if android["ttl"] != "86400s" || android["targetUserType"] != 0.0 {
		t.Errorf("android = %v, want ttl 86400s and targetUserType 0", android)
	}
	note, _ := android["notification"].(map[string]any)
	wantNote := map[string]any{"title": "您有一条新消息", "body": "请点击查看",
		"importance": "LOW", "tag": "ck-2"}
	for k, want := range wantNote {
		if note[k] != want {
			t.Errorf("notification.%s = %v, want %v", k, note[k], want)
		}
	}
	badge, _ := note["badge"].(map[string]any)
	if badge["badgeClass"] != "com.example.herald.Main" || badge["setNum"] != 4.0 {
		t.Errorf("notification.badge = %v, want badgeClass and setNum 4", note["badge"])
	}
	click, _ := note["clickAction"].(map[string]any)
	if click["type"] != 2.0 || click["url"] != "https://example.com/chat" {
		t.Errorf("notification.clickAction = %v, want type 2 with the URL", click)
	}

	hwPush(t, q, "hn-2", nil)
	s.wait(t, 2, url.Values{"vendor": {"honor"}, "token": {token}})
	if got := hwTokenFetches(t, s, "honor"); got != 1 {
		t.Errorf("honor token fetches = %v, want 1 for two pushes", got)
	}

	hwDeadUnbinds(t, s, q, "honor", "hn")
}
