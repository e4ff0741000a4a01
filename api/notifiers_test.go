package api

import (
	"encoding/json"
	"strings"
	"testing"
)

const p8Key = `-----BEGIN PRIVATE KEY-----\nSECRETP8KEYAAAAA\n-----END PRIVATE KEY-----\n`

const apnsBody = `{"name":"apns-prod","provider":"apns","environment":"development",
 "credentials":{"bundle_id":"com.x","auth_type":"p8","key_id":"KID","team_id":"TEAM",
 "private_key":"` + p8Key + `"}}`

func notifierData(t *testing.T, r result) map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("answer %d %s, want 200", r.status, r.raw)
	}
	return r.body["data"].(map[string]any)
}

func TestNotifierCreate(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	d := notifierData(t, h.do("POST", "/org1/app1/push/notifiers", tok, apnsBody))
	c := d["credentials"].(map[string]any)
	want := map[string]any{"bundle_id": "com.x", "auth_type": "p8", "key_id": "KID",
		"team_id": "TEAM", "private_key": "******"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("credentials.%s = %v, want %v", k, c[k], v)
		}
	}
	if d["name"] != "apns-prod" || d["provider"] != "apns" ||
		d["environment"] != "development" || d["enabled"] != true {
		t.Errorf("notifier = %v", d)
	}
	stored := h.be.apps["org1#app1"].Notifiers["apns-prod"]
	if !strings.Contains(stored.Credentials["private_key"], "SECRETP8KEY") {
		t.Errorf("stored private_key = %q, want the key", stored.Credentials["private_key"])
	}

	wantInvalid(t, h.do("POST", "/org1/app1/push/notifiers", tok, apnsBody), "name")
}

func TestNotifierCreateInvalid(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	tests := []struct{ name, body, field string }{
		{"unparsable", `{"name":`, "body"},
		{"not object", `"x"`, "body"},
		{"name type", `{"name":5,"provider":"fcm"}`, "name"},
		{"enabled type", `{"name":"n","provider":"fcm","enabled":"yes"}`, "enabled"},
		{"credentials type", `{"name":"n","provider":"fcm","credentials":"x"}`, "credentials"},
		{"credential array", `{"name":"n","provider":"xiaomi","credentials":{"channel_id":[1]}}`,
			"credentials.channel_id"},
		{"credential null", `{"name":"n","provider":"xiaomi","credentials":{"channel_id":null}}`,
			"credentials.channel_id"},
		{"credential object", `{"name":"n","provider":"xiaomi","credentials":{"app_secret":{}}}`,
			"credentials.app_secret"},
		{"no name", `{"provider":"fcm"}`, "name"},
		{"bad name", `{"name":"a/b","provider":"fcm"}`, "name"},
		{"bad provider", `{"name":"n","provider":"jpush"}`, "provider"},
		{"bad environment", `{"name":"n","provider":"apns","environment":"prod"}`,
			"environment"},
		{"bad endpoint", `{"name":"n","provider":"fcm","endpoint":"127.0.0.1:80"}`,
			"endpoint"},
		{"missing credential", strings.Replace(apnsBody, `"team_id":"TEAM",`, "", 1),
			"credentials.team_id"},
		{"xiaomi missing", `{"name":"n","provider":"xiaomi","credentials":{"app_secret":"s",` +
			`"package_name":"p"}}`, "credentials.channel_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, h.do("POST", "/org1/app1/push/notifiers", tok, tt.body), tt.field)
		})
	}
	if n := len(h.be.apps["org1#app1"].Notifiers); n != 0 || h.be.requests != 0 {
		t.Errorf("after rejected input: %d notifiers, %d backend requests", n, h.be.requests)
	}
}

// TestNotifierValueTypes: numbers and booleans become their JSON text and
// a service account may be given as an object.
func TestNotifierValueTypes(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	notifierData(t, h.do("POST", "/org1/app1/push/notifiers", tok,
		`{"name":"mz","provider":"meizu","credentials":{"app_id":123,"app_secret":"s",`+
			`"package_name":"p","notice_type":1}}`))
	notifierData(t, h.do("POST", "/org1/app1/push/notifiers", tok,
		`{"name":"fcm-1","provider":"fcm","credentials":{"service_account":`+
			`{ "project_id" : "p1", "private_key": "SA-SECRET" }}}`))
	rec := h.be.apps["org1#app1"]
	if got := rec.Notifiers["mz"].Credentials["app_id"]; got != "123" {
		t.Errorf("app_id = %q, want 123", got)
	}
	sa := rec.Notifiers["fcm-1"].Credentials["service_account"]
	if sa != `{"project_id":"p1","private_key":"SA-SECRET"}` {
		t.Errorf("service_account = %q, want compact JSON", sa)
	}
}

// TestNotifierSecretsNeverReturned creates one notifier per provider with
// recognizable secrets and checks no answer ever contains one.
func TestNotifierSecretsNeverReturned(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	bodies := []string{
		apnsBody,
		`{"name":"voip","provider":"apns-voip","credentials":{"bundle_id":"b","auth_type":"p12",
		  "certificate":"U0VDUkVUQ0VSVA==","password":"SECRETPW"}}`,
		`{"name":"fcm","provider":"fcm","credentials":{"service_account":
		  "{\"project_id\":\"p\",\"private_key\":\"SECRETSA\"}"}}`,
		`{"name":"hw","provider":"huawei","credentials":{"client_id":"c","client_secret":
		  "SECRETHW","project_id":"p","package_name":"x"}}`,
		`{"name":"honor","provider":"honor","credentials":{"app_id":"a","client_id":"c",
		  "client_secret":"SECRETHONOR"}}`,
		`{"name":"mi","provider":"xiaomi","credentials":{"app_secret":"SECRETMI",
		  "package_name":"x","channel_id":"c"}}`,
		`{"name":"oppo","provider":"oppo","credentials":{"app_key":"SECRETOPPOKEY",
		  "master_secret":"SECRETOPPOMASTER","package_name":"x"}}`,
		`{"name":"vivo","provider":"vivo","credentials":{"app_id":"a","app_key":"SECRETVIVOKEY",
		  "app_secret":"SECRETVIVO","package_name":"x","extra":"SECRETUNKNOWN"}}`,
		`{"name":"mz","provider":"meizu","credentials":{"app_id":"a","app_secret":"SECRETMZ",
		  "package_name":"x"}}`,
	}
	var answers []string
	for _, b := range bodies {
		r := h.do("POST", "/org1/app1/push/notifiers", tok, b)
		if r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		answers = append(answers, r.raw)
	}
	list := h.do("GET", "/org1/app1/push/notifiers", tok, "")
	answers = append(answers, list.raw,
		h.do("GET", "/org1/app1/push/notifiers/hw", tok, "").raw,
		h.do("PUT", "/org1/app1/push/notifiers/mi", tok, `{"enabled":false}`).raw,
		h.do("DELETE", "/org1/app1/push/notifiers/oppo", tok, "").raw)
	for _, a := range answers {
		if strings.Contains(a, "SECRET") || strings.Contains(a, "U0VDUkVU") {
			t.Errorf("answer leaks a secret: %s", a)
		}
	}

	names := []string{}
	for _, n := range list.body["data"].([]any) {
		names = append(names, n.(map[string]any)["name"].(string))
	}
	want := "apns-prod,fcm,honor,hw,mi,mz,oppo,vivo,voip"
	if strings.Join(names, ",") != want {
		t.Errorf("list order = %v, want %s", names, want)
	}
}

func TestNotifierGetUpdateDelete(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	notifierData(t, h.do("POST", "/org1/app1/push/notifiers", tok, apnsBody))
	path := "/org1/app1/push/notifiers/apns-prod"

	d := notifierData(t, h.do("GET", path, tok, ""))
	if d["name"] != "apns-prod" {
		t.Errorf("get = %v", d)
	}

	d = notifierData(t, h.do("PUT", path, tok,
		`{"enabled":false,"credentials":{"team_id":"TEAM2"}}`))
	c := d["credentials"].(map[string]any)
	if d["enabled"] != false || c["team_id"] != "TEAM2" || c["key_id"] != "KID" {
		t.Errorf("after partial update = %v", d)
	}

	wantInvalid(t, h.do("PUT", path, tok, `{"provider":"fcm"}`), "provider")
	wantInvalid(t, h.do("PUT", path, tok, `{"name":"other"}`), "name")
	wantInvalid(t, h.do("PUT", path, tok, `{"environment":"x"}`), "environment")
	wantInvalid(t, h.do("PUT", path, tok, `{"credentials":{"team_id":""}}`),
		"credentials.team_id")
	wantInvalid(t, h.do("PUT", path, tok, `{"enabled":1}`), "enabled")
	stored := h.be.apps["org1#app1"].Notifiers["apns-prod"]
	if stored.Credentials["team_id"] != "TEAM2" || stored.Enabled {
		t.Errorf("rejected updates changed the notifier: %v", stored)
	}

	for _, p := range []string{"/org1/app1/push/notifiers/none",
		"/org1/app1/push/notifiers/bad%20name"} {
		wantError(t, h.do("GET", p, tok, ""), 404, "service_resource_not_found", "")
		wantError(t, h.do("PUT", p, tok, `{}`), 404, "service_resource_not_found", "")
		wantError(t, h.do("DELETE", p, tok, ""), 404, "service_resource_not_found", "")
	}

	r := h.do("DELETE", path, tok, "")
	d = notifierData(t, r)
	if d["name"] != "apns-prod" || r.body["action"] != "delete" {
		t.Errorf("delete = %s", r.raw)
	}
	wantError(t, h.do("GET", path, tok, ""), 404, "service_resource_not_found",
		"url is invalid")
	var list struct{ Data []any }
	_ = json.Unmarshal([]byte(h.do("GET", "/org1/app1/push/notifiers", tok, "").raw), &list)
	if list.Data == nil || len(list.Data) != 0 {
		t.Errorf("list after delete = %v, want []", list.Data)
	}
}
