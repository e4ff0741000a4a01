package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSettingsRejectBeforeBackend: every invalid settings request is
// answered 400 naming its field (or with its §11.4 text) and never reaches
// a grain.
func TestSettingsRejectBeforeBackend(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	const u = "/org1/app1/users/bob"
	tests := []struct {
		method, path, body string
		field              string // "" = check desc
		desc               string
	}{
		{"PUT", u + "/notification/room/x", `{}`, "chattype", ""},
		{"GET", u + "/notification/room/x", ``, "chattype", ""},
		{"PUT", u + "/notification/user/bob", `{"type":"DEFAULT"}`, "type", ""},
		{"PUT", u + "/notification/user/BOB", `{"type":"default"}`, "type", ""},
		{"PUT", u + "/notification/user/bob", `{"type":5}`, "type", ""},
		{"PUT", u + "/notification/user/bob", `{"type":"ALL","ignoreInterval":"7:00"}`,
			"ignoreInterval", ""},
		{"PUT", u + "/notification/user/bob", `{"ignoreInterval":null}`, "ignoreInterval", ""},
		{"PUT", u + "/notification/user/bob", `{"ignoreDuration":"-5"}`, "ignoreDuration", ""},
		{"PUT", u + "/notification/user/bob", `{"ignoreDuration":1e3}`, "ignoreDuration", ""},
		{"PUT", u + "/notification/user/bob", `{"ignoreDuration":true}`, "ignoreDuration", ""},
		{"PUT", u + "/notification/chatgroup/g1", `{"ignoreDuration":604800001}`,
			"ignoreDuration", ""},
		{"PUT", u + "/notification/user/bob", `[1]`, "body", ""},
		{"GET", u + "/notification", ``, "conversations", ""},
		{"GET", u + "/notification?conversations=group:g1", ``, "conversations", ""},
		{"GET", u + "/notification?conversations=user:a,,user:b", ``, "conversations", ""},
		{"PUT", u + "/notification/language", `{}`, "translationLanguage", ""},
		{"PUT", u + "/notification/language",
			`{"translationLanguage":"` + strings.Repeat("x", 33) + `"}`, "translationLanguage", ""},
		{"PUT", u + "/notification/timezone", `{"timezone":"Local"}`, "timezone", ""},
		{"PUT", u + "/notification/timezone", `{"timezone":"../etc/passwd"}`, "timezone", ""},
		{"PUT", u, `{"nickname":"` + strings.Repeat("é", 101) + `"}`, "nickname", ""},
		{"PUT", u, `{"notification_display_style":"2"}`, "notification_display_style", ""},
		{"PUT", u, `{"notification_display_style":true}`, "notification_display_style", ""},
		{"PUT", "/org1/app1/push/nickname", ``, "",
			"put user push nicknames illegal empty request body"},
		{"PUT", "/org1/app1/push/nickname", `[]`, "",
			"put user push nicknames illegal empty request body"},
		{"PUT", "/org1/app1/push/nickname",
			`[{"username":"a","push_nickname":"x"},{"username":"b","push_nickname":"` +
				strings.Repeat("x", 101) + `"}]`, "", "b push nickname length exceeds the limit"},
		{"PUT", "/org1/app1/push/nickname", `[{"push_nickname":"x"}]`, "username", ""},
		{"POST", "/org1/app1/notification/template",
			`{"name":"a-b","title_pattern":"t","content_pattern":"c"}`, "name", ""},
		{"POST", "/org1/app1/notification/template",
			`{"name":"ab","title_pattern":"t"}`, "content_pattern", ""},
		{"POST", "/org1/app1/notification/template", `{"name":"ab","title_pattern":"t",` +
			`"content_pattern":"` + strings.Repeat("c", 1025) + `"}`, "content_pattern", ""},
		{"PUT", "/org1/app1/notification/template/ab", `{"title_pattern":""}`,
			"title_pattern", ""},
		{"DELETE", "/org1/app1/notification/template/detail", ``, "name", ""},
		{"PUT", "/org1/app1/push/config", `{"dnd_timezone":""}`, "dnd_timezone", ""},
		{"PUT", "/org1/app1/push/config", `{"statistics_enabled":"yes"}`,
			"statistics_enabled", ""},
		{"PUT", "/org1/app1/push/config", `{"rate_limits":{"templates":1.5}}`,
			"rate_limits.templates", ""},
		{"PUT", "/org1/app1/push/config", `{"rate_limits":{"settings":-1}}`,
			"rate_limits.settings", ""},
		{"PUT", "/org1/app1/push/config", `{"type_summaries":{"txt":"x"}}`,
			"type_summaries.txt", ""},
		{"PUT", "/org1/app1/push/config", `{"webhook":{"events":["fail","fail"]}}`,
			"webhook.events", ""},
		{"PUT", "/org1/app1/push/config", `{"webhook":"x"}`, "webhook", ""},
		{"PUT", "/org1/app1/push/config",
			`{"multi_device_policy":"any_offline","at_content_pattern":""}`,
			"at_content_pattern", ""},
		{"PUT", "/org1/app1/push/config",
			`{"builtin_templates":{"detail":{"content_pattern":7}}}`,
			"builtin_templates.detail.content_pattern", ""},
		{"POST", "/org1/app1/push/preview", `{"msg_id":"m1"}`, "recipient", ""},
	}
	for _, tc := range tests {
		before := h.be.requests
		r := h.do(tc.method, tc.path, tok, tc.body)
		desc := tc.desc
		if desc == "" {
			desc = "parameters is invalid : " + tc.field
		}
		if r.status != 400 || r.body["error"] != "illegal_argument" ||
			r.body["error_description"] != desc {
			t.Errorf("%s %s %s = %d %s, want 400 %q", tc.method, tc.path, tc.body,
				r.status, r.raw, desc)
		}
		if h.be.requests != before {
			t.Errorf("%s %s %s reached the backend", tc.method, tc.path, tc.body)
		}
	}
}

// TestReceiverTemplateNeedsOwnUserToken: the receiver-template API takes
// only the user token of {u} (§11.1), unlike the other settings.
func TestReceiverTemplateNeedsOwnUserToken(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	carol := h.userToken("org1", "app1", tok, "carol")
	const path = "/org1/app1/users/bob/notification/template"
	for _, token := range []string{tok, carol} {
		r := h.do("PUT", path, token, `{"templateName":""}`)
		wantError(t, r, 403, "forbidden_op", "forbidden operation")
		r = h.do("GET", path, token, ``)
		wantError(t, r, 403, "forbidden_op", "forbidden operation")
	}
	// A name that cannot exist is refused without asking the grain.
	bob := h.userToken("org1", "app1", tok, "bob")
	r := h.do("PUT", path, bob, `{"templateName":"no such"}`)
	wantError(t, r, 400, "entity_not_found", "no such template is not exist")
}

func TestDurationValue(t *testing.T) {
	tests := []struct {
		raw  string
		want int64
		ok   bool
	}{
		{`0`, 0, true}, {`86400000`, 86400000, true}, {`"86400000"`, 86400000, true},
		{`-1`, -1, true}, {`"-1"`, 0, false}, {`" 1"`, 0, false}, {`1.0`, 0, false},
		{`1e3`, 0, false}, {`null`, 0, false}, {`"x"`, 0, false}, {`[]`, 0, false},
		{`99999999999999999999`, 0, false},
	}
	for _, tc := range tests {
		got, ok := durationValue(json.RawMessage(tc.raw))
		if got != tc.want || ok != tc.ok {
			t.Errorf("durationValue(%s) = %d, %v; want %d, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDisplayStyle(t *testing.T) {
	for raw, want := range map[string]int32{`0`: 0, `1`: 1, `"0"`: 0, `"1"`: 1} {
		if got, ok := displayStyle(json.RawMessage(raw)); !ok || got != want {
			t.Errorf("displayStyle(%s) = %d, %v", raw, got, ok)
		}
	}
	for _, raw := range []string{`2`, `"01"`, `1.0`, `true`, `"yes"`, `-0`} {
		if _, ok := displayStyle(json.RawMessage(raw)); ok {
			t.Errorf("displayStyle(%s) accepted", raw)
		}
	}
}

func TestUserUUIDStable(t *testing.T) {
	a, b := userUUID("org1#app1", "bob"), userUUID("org1#app1", "bob")
	if a != b || a == userUUID("org1#app2", "bob") || len(a) != 36 || a[14] != '5' {
		t.Errorf("userUUID = %q, %q", a, b)
	}
}

// TestReadConfigPresent: the dotted fields a config body carries, and the
// masked secret read back and sent again, which changes nothing.
func TestReadConfigPresent(t *testing.T) {
	body := `{"dnd_timezone":"UTC","webhook":{"secret":"******","events":[]},` +
		`"rate_limits":{"user":5,"other":1},"builtin_templates":{"detail":` +
		`{"content_pattern":"x"},"mine":{"title_pattern":"y"}},"colour":"red"}`
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		t.Fatal(err)
	}
	m := newConfigUpdate()
	if err := readConfig(fields, m); err != nil {
		t.Fatal(err)
	}
	want := "dnd_timezone webhook.events rate_limits.user builtin_templates.detail.content_pattern"
	if got := strings.Join(m.Present, " "); got != want {
		t.Errorf("present = %q, want %q", got, want)
	}
}
