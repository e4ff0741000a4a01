package vendorsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func oppoMsg(t *testing.T, s string) oppoMessage {
	t.Helper()
	var m oppoMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOPPOCheck(t *testing.T) {
	const note = `"title":"Hi","content":"there","style":1`
	tests := []struct {
		msg  string
		want int
	}{
		{`{"target_type":2,"target_value":"r","notification":{` + note + `}}`, oppoOK},
		{`{"targetType":2,"targetValue":"r","notification":{"title":"Hi","content":"x",` +
			`"clickActionType":4,"clickActionActivity":"a.B"}}`, oppoOK},
		{`{"target_type":3,"target_value":"r","notification":{` + note + `}}`, oppoBadTarget},
		{`{"target_type":2,"notification":{` + note + `}}`, oppoBadTarget},
		{`{"target_type":2,"target_value":"r"}`, oppoBadParam},
		{`{"target_type":2,"target_value":"r","notification":{"title":"` +
			strings.Repeat("标", 51) + `","content":"x"}}`, oppoBadTitle},
		{`{"target_type":2,"target_value":"r","notification":{"title":"t","content":""}}`,
			oppoBadContent},
		{`{"target_type":2,"target_value":"r","notification":{` + note +
			`,"click_action_type":4}}`, oppoBadClick},
		{`{"target_type":2,"target_value":"r","notification":{` + note +
			`,"off_line_ttl":864001}}`, oppoBadOffline},
		{`{"target_type":2,"target_value":"r","notification":{` + note +
			`,"notify_level":2}}`, oppoBadLevel},
		{`{"target_type":2,"target_value":"r","notification":{` + note +
			`,"notify_level":16,"category":"IM"}}`, oppoOK},
		{`{"target_type":2,"target_value":"r","notification":{` + note +
			`,"action_parameters":"[1]"}}`, oppoBadParams},
		{`{"target_type":2,"target_value":"r","notification":{"title":"t","content":"c",` +
			`"style":9}}`, oppoBadStyle},
	}
	for _, tt := range tests {
		if got, _ := oppoCheck(oppoMsg(t, tt.msg)); got != tt.want {
			t.Errorf("oppoCheck(%s) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}

// oppoPost posts a form and decodes OPPO's answer.
func oppoPost(t *testing.T, c *http.Client, u string, form url.Values) map[string]any {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("POST %s: %d %s", u, resp.StatusCode, raw)
	}
	return out
}

func oppoAuth(t *testing.T, c *http.Client, base, key, secret string, ts time.Time) map[string]any {
	t.Helper()
	ms := strconv.FormatInt(ts.UnixMilli(), 10)
	return oppoPost(t, c, base+oppoAuthPath, url.Values{"app_key": {key}, "timestamp": {ms},
		"sign": {oppoSign(key, ms, secret)}})
}

func TestOPPOServer(t *testing.T) {
	sim, creds := startSim(t)
	base := sim.Endpoint(VendorOPPO)
	key := creds.Vendors[VendorOPPO]["app_key"]
	secret := creds.Vendors[VendorOPPO]["master_secret"]
	c := fakeClient(t, sim, false) // HTTP/1.1; h2 is covered by the client tests

	// Auth refusals in §4's order, then a token.
	for _, tt := range []struct {
		key, secret string
		ts          time.Time
		want        float64
	}{
		{"nobody", secret, time.Now(), oppoBadAppKey},
		{key, secret, time.Now().Add(11 * time.Minute), oppoBadTimestamp},
		{key, "wrong", time.Now(), oppoBadSign},
		{key, secret, time.Now().Add(-9 * time.Minute), oppoOK},
	} {
		if ans := oppoAuth(t, c, base, tt.key, tt.secret, tt.ts); ans["code"] != tt.want {
			t.Errorf("auth(%s, ts %v) = %v, want code %v", tt.key, tt.ts, ans, tt.want)
		}
	}
	ans := oppoAuth(t, c, base, key, secret, time.Now())
	tok, _ := ans["data"].(map[string]any)["auth_token"].(string)
	if tok == "" {
		t.Fatalf("auth = %v, want a token", ans)
	}

	msg := `{"target_type":2,"target_value":"r1","notification":{"title":"Hi",` +
		`"content":"there","style":1,"action_parameters":"{\"f\":\"a\"}"}}`
	ans = oppoPost(t, c, base+oppoUnicastPath, url.Values{"auth_token": {"bogus"},
		"message": {msg}})
	if ans["code"] != float64(oppoBadAuthToken) {
		t.Errorf("unknown auth_token: %v, want code 11", ans)
	}
	ans = oppoPost(t, c, base+oppoUnicastPath, url.Values{"auth_token": {tok},
		"message": {msg}})
	if ans["code"] != 0.0 || ans["data"].(map[string]any)["messageId"] == "" {
		t.Errorf("unicast = %v, want code 0 with a messageId", ans)
	}
	r := sim.Received(Filter{Vendor: VendorOPPO, Token: "r1"})
	if len(r) != 2 || !strings.Contains(string(r[1].Payload), `"auth_token":"***"`) ||
		!strings.Contains(string(r[1].Payload), `"target_value":"r1"`) {
		t.Errorf("records = %+v, want the message parsed and the token masked", r)
	}

	// A batch answers per regId.
	batch := `[` + msg + `,` + strings.Replace(msg, `"r1"`, `"deadB"`, 1) + `]`
	ans = oppoPost(t, c, base+oppoBatchPath, url.Values{"auth_token": {tok},
		"messages": {batch}})
	list, _ := ans["data"].([]any)
	if ans["code"] != 0.0 || len(list) != 2 {
		t.Fatalf("batch = %v, want code 0 and 2 entries", ans)
	}
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	if _, ok := first["errorCode"]; ok || second["errorCode"] != float64(oppoInvalidRegID) ||
		second["registrationId"] != "deadB" {
		t.Errorf("batch entries = %v, want only deadB refused with 10000", list)
	}
}
