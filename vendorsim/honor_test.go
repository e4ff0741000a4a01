package vendorsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// honorBody is a valid Honor send body for tokens with the notification
// changed by edit, if given.
func honorBody(tokens []string, edit func(n map[string]any)) string {
	n := map[string]any{"title": "Hi", "body": "there", "clickAction": map[string]any{"type": 3},
		"importance": "NORMAL", "tag": "m1"}
	if edit != nil {
		edit(n)
	}
	b, _ := json.Marshal(map[string]any{"token": tokens, "data": `{"f":"alice"}`,
		"android": map[string]any{"ttl": "86400s", "targetUserType": 0, "notification": n}})
	return string(b)
}

func TestHonorTokenEndpoint(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorHonor]
	c := fakeClient(t, sim, true)
	tokenURL := sim.Endpoint(VendorHonor) + honorTokenPath

	status, out := oauthToken(t, c, tokenURL, f["client_id"], f["client_secret"])
	if status != 200 || out["access_token"] == "" || out["expires_in"] != 3600.0 {
		t.Fatalf("token: %d %v", status, out)
	}
	status, out = oauthToken(t, c, tokenURL, "unknown", f["client_secret"])
	if status != 400 || out["error"] != "invalid_client" {
		t.Errorf("unknown client: %d %v, want 400 invalid_client", status, out)
	}
}

func TestHonorSend(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorHonor]
	base := sim.Endpoint(VendorHonor)
	send := base + "/api/v1/" + f["app_id"] + "/sendMessage"
	ts := map[string]string{"timestamp": "1767225600000"}

	tests := []struct {
		name    string
		url     string
		headers map[string]string
		body    string
		bearer  bool
		status  int
		code    float64
		outcome string
		list    string // data list that must hold the token
	}{
		{"ok", send, ts, honorBody([]string{"tok-a"}, nil), true, 200, 200,
			OutcomeDelivered, ""},
		{"unknown bearer", send, ts, honorBody([]string{"tok-b"}, nil), false, 401,
			80200001, OutcomeCredentialError, ""},
		{"other app", base + "/api/v1/999/sendMessage", ts, honorBody([]string{"tok-c"}, nil),
			true, 403, 80300002, OutcomeCredentialError, ""},
		{"no timestamp", send, nil, honorBody([]string{"tok-d"}, nil), true, 400, 80100001,
			OutcomePayloadError, ""},
		{"dead", send, ts, honorBody([]string{"dead-1"}, nil), true, 200, 200,
			OutcomeTokenInvalid, "expireTokens"},
		{"flaky first", send, ts, honorBody([]string{"flaky-1"}, nil), true, 200, 200,
			OutcomeRetryable, "failTokens"},
		{"throttle", send, ts, honorBody([]string{"throttle-1"}, nil), true, 429, 429,
			OutcomeThrottled, ""},
		{"fail", send, ts, honorBody([]string{"fail-1"}, nil), true, 500, 500,
			OutcomeRetryable, ""},
		{"bad importance", send, ts, honorBody([]string{"tok-e"},
			func(n map[string]any) { n["importance"] = "HIGH" }), true, 400, 80100001,
			OutcomePayloadError, ""},
		{"no click action", send, ts, honorBody([]string{"tok-f"},
			func(n map[string]any) { delete(n, "clickAction") }), true, 400, 80100003,
			OutcomePayloadError, ""},
		{"too large", send, ts, honorBody([]string{"tok-g"},
			func(n map[string]any) { n["body"] = strings.Repeat("y", 4100) }), true, 400,
			80300008, OutcomePayloadError, ""},
		{"badge without class", send, ts, honorBody([]string{"tok-h"},
			func(n map[string]any) { n["badge"] = map[string]any{"setNum": 1} }), true, 400,
			80100003, OutcomePayloadError, ""},
	}
	for _, h2 := range []bool{true, false} {
		c := fakeClient(t, sim, h2)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("h2=%v/%s", h2, tt.name), func(t *testing.T) {
				sim.Reset()
				bearer := "nope"
				if tt.bearer {
					_, out := oauthToken(t, c, base+honorTokenPath, f["client_id"],
						f["client_secret"])
					bearer = out["access_token"].(string)
				}
				status, out, _ := hwPost(t, c, tt.url, bearer, tt.headers, tt.body)
				if status != tt.status || out["code"] != tt.code {
					t.Fatalf("answer %d %v, want %d %v", status, out, tt.status, tt.code)
				}
				rec := waitOne(t, sim, Filter{Vendor: VendorHonor})
				if rec.Outcome != tt.outcome {
					t.Errorf("record outcome %q, want %q", rec.Outcome, tt.outcome)
				}
				if tt.list != "" {
					data, _ := out["data"].(map[string]any)
					list, _ := data[tt.list].([]any)
					if len(list) != 1 || list[0] != rec.Token {
						t.Errorf("data.%s = %v, want [%s]", tt.list, data[tt.list], rec.Token)
					}
				}
			})
		}
	}
}
