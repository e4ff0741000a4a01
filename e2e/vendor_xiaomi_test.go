package e2e

import (
	"context"
	"crypto/x509"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/herald-im/herald/vendors/xiaomi"
)

func TestVendorXiaomi(t *testing.T) {
	s, addrs, creds := startSimXO(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	fields := creds.Vendors["xiaomi"]
	q.addNotifier(t, "xiaomi-1", "xiaomi", addrs["xiaomi"], fields, "app_secret")
	const token = "xmRegId0123456789abcdefABCDEF"
	q.bindTo(t, token, "xiaomi-1")

	ext := map[string]any{
		"em_apns_ext": map[string]any{"em_push_collapse_key": "ck-x"},
		"em_android_push_ext": map[string]any{"em_push_sound": "/raw/ring",
			"xiaomi_click_action": "https://herald.im/chat"},
	}
	if res := q.pushExt(t, "x1", ext); res["pushed"] != float64(1) {
		t.Fatalf("push x1 answered %v, want 1 pushed", res)
	}
	r := s.wait(t, 1, url.Values{"vendor": {"xiaomi"}})[0]
	if r.Status != 200 || r.Outcome != "delivered" || r.Token != token ||
		r.Path != "/v3/message/regid" {
		t.Fatalf("xiaomi record = %+v, want a delivered send to %s", r, token)
	}
	if r.Headers["authorization"] != "key=***" || r.Auth.Scheme != "key" {
		t.Errorf("authorization %q auth %+v, want the app secret as key (masked)",
			r.Headers["authorization"], r.Auth)
	}

	// The form exactly as VENDORS.md §2.5 has it: no badge, the sound as
	// a resource URI, notify_id from the collapse key.
	want := map[string]any{
		"registration_id":         token,
		"restricted_package_name": fields["package_name"],
		"title":                   "您有一条新消息",
		"description":             "请点击查看",
		"pass_through":            "0",
		"notify_type":             "-1",
		"notify_id":               strconv.Itoa(int(xiaomi.NotifyID("ck-x"))),
		"time_to_live":            "86400000",
		"extra.channel_id":        fields["channel_id"],
		"extra.notify_effect":     "3",
		"extra.web_uri":           "https://herald.im/chat",
		"extra.sound_uri":         "android.resource://" + fields["package_name"] + "/raw/ring",
	}
	for k, v := range want {
		if r.Payload[k] != v {
			t.Errorf("form %s = %v, want %v", k, r.Payload[k], v)
		}
	}
	if len(r.Payload) != len(want)+1 {
		t.Errorf("form = %v, want exactly %d fields", r.Payload, len(want)+1)
	}
	custom, _ := r.Payload["payload"].(map[string]any)
	checkCustom(t, custom, "x1", "ck-x")

	// A dead regId is accepted; the feedback API then lists it once.
	dead := "deadXM0123456789"
	q.bindTo(t, dead, "xiaomi-1")
	if res := q.pushExt(t, "x2", nil); res["pushed"] != float64(1) {
		t.Fatalf("push to a dead regId answered %v, want 1 pushed (MiPush accepts it)", res)
	}
	s.wait(t, 1, url.Values{"token": {dead}, "outcome": {"delivered"}})

	// The node polls the feedback API only every feedback_poll_interval
	// (10m by default), so here the test's own poll gets the regId; the
	// node's poller and its unbind are checked by TestTokenOwnership.
	c := feedbackClient(t, s, addrs["xiaomi"], fields)
	got, err := c.FetchInvalid(context.Background())
	if err != nil || !slices.Equal(got, []string{dead}) {
		t.Fatalf("FetchInvalid = %v, %v; want [%s]", got, err, dead)
	}
	if again, err := c.FetchInvalid(context.Background()); err != nil || len(again) != 0 {
		t.Errorf("second FetchInvalid = %v, %v; want none", again, err)
	}
}

// feedbackClient is a xiaomi client trusting vendorsim's CA.
func feedbackClient(t *testing.T, s *sim, base string, fields map[string]string) *xiaomi.Client {
	t.Helper()
	pem, err := os.ReadFile(s.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	creds, err := xiaomi.ParseCredentials(fields)
	if err != nil {
		t.Fatal(err)
	}
	c, err := xiaomi.New(xiaomi.Config{Credentials: creds, Endpoint: base,
		AuthEndpoint: base, RootCAs: pool, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
