package vendorsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// meizuReply is the emulator's answer as a test reads it.
type meizuReply struct {
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Value   map[string][]string `json:"value"`
	MsgID   string              `json:"msgId"`
}

const meizuGoodMessage = `{"noticeBarInfo":{"noticeBarType":0,"title":"您有一条新消息",` +
	`"content":"请点击查看","noticeMsgType":0},"clickTypeInfo":{"clickType":0,` +
	`"parameters":{"f":"alice"}},"pushTimeInfo":{"offLine":1,"validTime":24},` +
	`"advanceInfo":{"notificationType":{"vibrate":1,"lights":1,"sound":1}}}`

// meizuForm is a signed form for pushIds with messageJson.
func meizuForm(f map[string]string, pushIDs, messageJSON string) url.Values {
	form := url.Values{"appId": {f["app_id"]}, "pushIds": {pushIDs},
		"messageJson": {messageJSON}}
	form.Set("sign", meizuSign(form, f["app_secret"]))
	return form
}

func meizuPost(t *testing.T, c *http.Client, sim *Sim, form url.Values) meizuReply {
	t.Helper()
	resp, err := c.PostForm(sim.Endpoint(VendorMeizu)+meizuPushPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var r meizuReply
	if resp.StatusCode != 200 || json.Unmarshal(data, &r) != nil {
		t.Fatalf("answer %d %q", resp.StatusCode, data)
	}
	return r
}

func TestMeizuSignature(t *testing.T) {
	// MD5 of `appId=110001messageJson={"a":1}pushIds=tok1` + "s3cr3t",
	// computed apart.
	form := url.Values{"pushIds": {"tok1"}, "messageJson": {`{"a":1}`}, "appId": {"110001"}}
	if got := meizuSign(form, "s3cr3t"); got != "ed8e3962a053c2ba8985c8930063ee77" {
		t.Errorf("meizuSign = %s", got)
	}
}

func TestMeizuChecks(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorMeizu]
	c := fakeClient(t, sim, false)
	edit := func(from, to string) string { return strings.Replace(meizuGoodMessage, from, to, 1) }

	badSign := meizuForm(f, "p-sign", meizuGoodMessage)
	badSign.Set("sign", strings.Repeat("0", 32))
	foreign := meizuForm(map[string]string{"app_id": "1", "app_secret": f["app_secret"]},
		"p-app", meizuGoodMessage)
	tooMany := strings.TrimSuffix(strings.Repeat("p,", 1001), ",")

	tests := []struct {
		name, token string
		form        url.Values
		code        string
		outcome     string
	}{
		{"accepted", "p-ok", meizuForm(f, "p-ok", meizuGoodMessage), "200", OutcomeDelivered},
		{"bad sign", "p-sign", badSign, meizuBadSign, OutcomeCredentialError},
		{"unknown app", "p-app", foreign, meizuBadAppID, OutcomeCredentialError},
		{"not json", "p-json", meizuForm(f, "p-json", "{"), meizuBadParam, OutcomePayloadError},
		{"title 33", "p-title", meizuForm(f, "p-title",
			edit("您有一条新消息", strings.Repeat("标", 33))), meizuBadParam, OutcomePayloadError},
		{"empty content", "p-content", meizuForm(f, "p-content", edit("请点击查看", "")),
			meizuBadParam, OutcomePayloadError},
		{"activity missing", "p-act", meizuForm(f, "p-act",
			edit(`"clickType":0`, `"clickType":1`)), meizuBadParam, OutcomePayloadError},
		{"validTime 73", "p-valid", meizuForm(f, "p-valid", edit(`"validTime":24`,
			`"validTime":73`)), meizuBadParam, OutcomePayloadError},
		{"non-string parameter", "p-param", meizuForm(f, "p-param",
			edit(`"f":"alice"`, `"f":1`)), meizuBadParam, OutcomePayloadError},
		{"1001 pushIds", tooMany, meizuForm(f, tooMany, meizuGoodMessage), meizuBadPushIDs,
			OutcomePayloadError},
	}
	for _, tt := range tests {
		r := meizuPost(t, c, sim, tt.form)
		if r.Code != tt.code || (r.MsgID != "") != (tt.code == "200") {
			t.Errorf("%s: %+v, want code %s", tt.name, r, tt.code)
		}
		rec := waitOne(t, sim, Filter{Vendor: VendorMeizu, Token: tt.token})
		if rec.Outcome != tt.outcome || rec.VendorCode != tt.code {
			t.Errorf("%s: record %s/%s, want %s/%s", tt.name, rec.VendorCode, rec.Outcome,
				tt.code, tt.outcome)
		}
	}

	// The record shows the form with messageJson parsed.
	rec := waitOne(t, sim, Filter{Vendor: VendorMeizu, Token: "p-ok"})
	var payload struct {
		AppID       string         `json:"appId"`
		MessageJSON map[string]any `json:"messageJson"`
	}
	if err := json.Unmarshal(rec.Payload, &payload); err != nil || payload.AppID != f["app_id"] ||
		payload.MessageJSON["noticeBarInfo"] == nil {
		t.Errorf("payload %s (%v)", rec.Payload, err)
	}
}

func TestMeizuMagicTokens(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorMeizu]
	c := fakeClient(t, sim, true)

	tests := []struct {
		ids   string
		code  string
		value map[string][]string
	}{
		{"dead-1", "200", map[string][]string{"110003": {"dead-1"}}},
		{"baddev-1", "200", map[string][]string{"110003": {"baddev-1"}}},
		{"good-1,dead-2", "200", map[string][]string{"110003": {"dead-2"}}},
		{"fail-1", meizuBusy, map[string][]string{}},
		{"throttle-1", meizuThrottled, map[string][]string{}},
		{"flaky-1", meizuBusy, map[string][]string{}},
		{"flaky-1", "200", map[string][]string{}},
	}
	for _, tt := range tests {
		r := meizuPost(t, c, sim, meizuForm(f, tt.ids, meizuGoodMessage))
		gotValue, _ := json.Marshal(r.Value)
		wantValue, _ := json.Marshal(tt.value)
		if r.Code != tt.code || string(gotValue) != string(wantValue) {
			t.Errorf("%s: %+v, want %s %s", tt.ids, r, tt.code, wantValue)
		}
	}
	rec := waitOne(t, sim, Filter{Vendor: VendorMeizu, Token: "good-1,dead-2"})
	if rec.Outcome != OutcomeDelivered {
		t.Errorf("mixed request outcome %q, want delivered (one pushId went through)", rec.Outcome)
	}
}
