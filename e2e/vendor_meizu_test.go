package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-im/herald/vendorsim"
)

// TestVendorMeizu pushes through a Meizu notifier on vendorsim and checks
// the signed form and messageJson are exactly Meizu's format (VENDORS.md
// §2.8, SPEC.md §10), then that a dead pushId unbinds the device.
func TestVendorMeizu(t *testing.T) {
	s := vmStartSim(t, vendorsim.VendorMeizu)
	n := startNode(t, s.sim, t.TempDir())
	a := vmSetUp(t, s, n, vendorsim.VendorMeizu, map[string]string{"notice_type": "1"},
		"pid-bob-d1")
	fields := s.creds.Vendors[vendorsim.VendorMeizu]

	if res := a.push(t, "z1", nil); res["pushed"] != float64(1) {
		t.Fatalf("push z1 answered %v, want 1 pushed", res)
	}
	r := s.wait(t, 1, url.Values{"vendor": {"meizu"}})[0]
	if r.Status != 200 || r.Outcome != "delivered" ||
		r.Path != "/garcia/api/server/push/varnished/pushByPushId" ||
		r.Token != "pid-bob-d1" || r.Auth.Subject != fields["app_id"] {
		t.Errorf("record = %+v", r)
	}
	if got := keysOf(r.Payload); got != "appId,messageJson,pushIds,sign" {
		t.Errorf("form fields = %s", got)
	}
	if r.Payload["appId"] != fields["app_id"] || r.Payload["pushIds"] != "pid-bob-d1" {
		t.Errorf("form = %v", r.Payload)
	}
	if sign, _ := r.Payload["sign"].(string); len(sign) != 32 || strings.ToLower(sign) != sign {
		t.Errorf("sign = %v, want lowercase hex MD5", r.Payload["sign"])
	}

	mj, _ := r.Payload["messageJson"].(map[string]any)
	if got := keysOf(mj); got != "advanceInfo,clickTypeInfo,noticeBarInfo,pushTimeInfo" {
		t.Errorf("messageJson fields = %s", got)
	}
	bar, _ := mj["noticeBarInfo"].(map[string]any)
	if bar["title"] != "您有一条新消息" || bar["content"] != "请点击查看" ||
		bar["noticeBarType"] != 0.0 || bar["noticeMsgType"] != 1.0 {
		t.Errorf("noticeBarInfo = %v", bar)
	}
	click, _ := mj["clickTypeInfo"].(map[string]any)
	params, _ := click["parameters"].(map[string]any)
	if click["clickType"] != 0.0 || params["f"] != "alice" || params["t"] != "bob" ||
		params["m"] != "z1" || len(params) != 3 {
		t.Errorf("clickTypeInfo = %v", click)
	}
	timing, _ := mj["pushTimeInfo"].(map[string]any)
	if timing["offLine"] != 1.0 || timing["validTime"] != 24.0 {
		t.Errorf("pushTimeInfo = %v", timing)
	}

	// em_android_push_ext opens an activity and overrides the notice type.
	a.push(t, "z2", map[string]any{"em_android_push_ext": map[string]any{
		"meizu_click_activity": "com.example.Chat", "meizu_notice_type": 0}})
	r = s.wait(t, 2, url.Values{"vendor": {"meizu"}})[1]
	mj, _ = r.Payload["messageJson"].(map[string]any)
	click, _ = mj["clickTypeInfo"].(map[string]any)
	bar, _ = mj["noticeBarInfo"].(map[string]any)
	if r.Outcome != "delivered" || click["clickType"] != 1.0 ||
		click["activity"] != "com.example.Chat" || bar["noticeMsgType"] != 0.0 {
		t.Errorf("ext push: %s %v", r.Outcome, mj)
	}

	// A dead pushId is listed under 110003 and Herald deletes the binding.
	a.bind(t, "dead-bob-d1")
	if res := a.push(t, "z3", nil); res["failed"] != float64(1) {
		t.Fatalf("push to a dead pushId answered %v, want 1 failed", res)
	}
	s.wait(t, 1, url.Values{"token": {"dead-bob-d1"}, "outcome": {"token-invalid"}})
	waitFor(t, "the dead binding to be removed", 10*time.Second, func() bool {
		return len(a.bindings(t)) == 0
	})
	if strings.Contains(n.output(), fields["app_secret"]) {
		t.Error("herald logged the meizu app secret")
	}
}
