package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The settings of SPEC.md §5-§9, §11.4 and §11.6 through the running node:
// each case changes a setting over REST, pushes a message and asserts what
// vendorsim received, or that it received nothing.

// fixture is the quickstart plus what the settings cases need.
type fixture struct {
	*quickstart
	t *testing.T
	// seq numbers the messages, so every push has a fresh msg_id.
	seq int
}

func newFixture(t *testing.T) *fixture {
	s := startSim(t)
	n := startNode(t, s, t.TempDir())
	return &fixture{quickstart: setUp(t, s, n), t: t}
}

// call sends one REST request with the app token and returns the status
// and the decoded envelope.
func (f *fixture) call(method, path string, body any) (int, envelope) {
	f.t.Helper()
	return f.callAs(f.token, method, path, body)
}

func (f *fixture) callAs(token, method, path string, body any) (int, envelope) {
	f.t.Helper()
	var env envelope
	code := httpJSON(f.t, method, f.node.url(path), token, body, &env)
	return code, env
}

// must is call that fails the test unless the answer is 200.
func (f *fixture) must(method, path string, body any) envelope {
	f.t.Helper()
	code, env := f.call(method, path, body)
	if code != 200 {
		f.t.Fatalf("%s %s: status %d %+v", method, path, code, env)
	}
	return env
}

// wantError asserts an error answer: status, error code, description.
func (f *fixture) wantError(code int, env envelope, status int, errCode, desc string) {
	f.t.Helper()
	if code != status || env.Error != errCode || env.Desc != desc {
		f.t.Errorf("answer %d %q %q, want %d %q %q", code, env.Error, env.Desc, status,
			errCode, desc)
	}
}

// userToken returns a user token of user.
func (f *fixture) userToken(user string) string {
	f.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code := httpJSON(f.t, "POST", f.node.url("/token"), f.token, map[string]any{
		"grant_type": "inherit", "username": user,
	}, &tok); code != 200 || tok.AccessToken == "" {
		f.t.Fatalf("user token for %s: status %d", user, code)
	}
	return tok.AccessToken
}

// send pushes one message to bob, built from fields over a chat from alice,
// and returns its msg_id with the records vendorsim received for it. The
// push answer comes once every outcome is final, so records that are not
// there by then never come.
func (f *fixture) send(fields map[string]any) (string, []simRecord) {
	f.t.Helper()
	f.seq++
	id := fmt.Sprintf("%s-%d", strings.ReplaceAll(f.t.Name(), "/", "-"), f.seq)
	if len(id) > 64 {
		id = id[len(id)-64:]
	}
	msg := map[string]any{
		"msg_id": id, "from": "alice", "chat_type": "chat", "to": []string{"bob"},
		"body": map[string]any{"type": "txt", "text": "hi"},
	}
	for k, v := range fields {
		msg[k] = v
	}
	id, _ = msg["msg_id"].(string)
	var res envelope
	if code := httpJSON(f.t, "POST", f.node.url("/push/messages"), f.token, msg,
		&res); code != 200 || res.Data["pending"] != float64(0) {
		f.t.Fatalf("push %s: status %d %+v", id, code, res)
	}
	var all []simRecord
	if code := httpJSON(f.t, "GET", f.sim.control+"/_sim/received", "", nil,
		&all); code != 200 {
		f.t.Fatalf("vendorsim received: status %d", code)
	}
	var mine []simRecord
	for _, r := range all {
		if r.Payload["m"] == id {
			mine = append(mine, r)
		}
	}
	return id, mine
}

// wantPushed sends a message and asserts exactly one push reached bob's
// device; it returns that push's aps.alert.
func (f *fixture) wantPushed(fields map[string]any) map[string]any {
	f.t.Helper()
	id, recs := f.send(fields)
	if len(recs) != 1 {
		f.t.Fatalf("message %s reached vendorsim %d times, want once", id, len(recs))
	}
	aps, _ := recs[0].Payload["aps"].(map[string]any)
	alert, _ := aps["alert"].(map[string]any)
	return alert
}

// wantNothingSent sends a message and asserts no push was made.
func (f *fixture) wantNothingSent(fields map[string]any) {
	f.t.Helper()
	if id, recs := f.send(fields); len(recs) != 0 {
		f.t.Fatalf("message %s reached vendorsim: %+v", id, recs[0].Payload)
	}
}

// group is a groupchat from alice to g1 with bob as member.
func group(ext map[string]any) map[string]any {
	m := map[string]any{"chat_type": "groupchat", "group_id": "g1",
		"members": []string{"alice", "bob"}, "to": nil}
	if ext != nil {
		m["ext"] = ext
	}
	return m
}

// localWindow is a DND window around (active) or away from (inactive) the
// current local time in zone, minute precision: the node reads the wall
// clock, so the test builds its window from the same clock with an hour
// of margin on each side.
func localWindow(t *testing.T, zone string, active bool) string {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	start, end := now.Add(-time.Hour), now.Add(time.Hour)
	if !active {
		start, end = now.Add(2*time.Hour), now.Add(3*time.Hour)
	}
	return fmt.Sprintf("%d:%d-%d:%d", start.Hour(), start.Minute(), end.Hour(), end.Minute())
}

func TestSettingsEndToEnd(t *testing.T) {
	f := newFixture(t)
	// Every case leaves bob's settings as it found them.
	cases := []struct {
		name string
		run  func(*fixture)
	}{
		{"settings resource", testSettingsResource},
		{"D01 interval and E04 forced", testIntervalAndForced},
		{"user time zone", testUserTimezone},
		{"D11 duration expires", testDurationExpires},
		{"C04 C08 modes", testModes},
		{"E08 filter", testFilter},
		{"F02 G08 display style and nicknames", testDisplayStyle},
		{"F11 G03 templates", testTemplates},
		{"G12 translation", testTranslation},
		{"push config", testPushConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := &fixture{quickstart: f.quickstart, t: t}
			c.run(sub)
		})
	}
}

// testSettingsResource covers §5.3, §5.4 and C10, D06, D18, D22.
func testSettingsResource(f *fixture) {
	const app = "/users/bob/notification/user/bob"
	env := f.must("PUT", app, map[string]any{"ignoreInterval": "9:0-9:0"})
	if env.Data["ignoreInterval"] != "09:00-09:00" || env.Data["type"] != "ALL" {
		f.t.Errorf("D06 echo = %v, want 09:00-09:00 and ALL", env.Data)
	}
	f.must("PUT", app, map[string]any{"ignoreInterval": "22:00-07:00"})
	f.must("PUT", app, map[string]any{"type": "at"})
	env = f.must("GET", "/users/BOB/notification/user/Bob", nil)
	if env.Data["type"] != "AT" || env.Data["ignoreInterval"] != "22:00-07:00" ||
		env.Data["ignoreDuration"] != float64(0) {
		f.t.Errorf("D22 GET = %v, want AT, 22:00-07:00, 0", env.Data)
	}

	// Invalid values name their field and change nothing.
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"type": "DEFAULT"}, "type"},
		{map[string]any{"type": "SOME"}, "type"},
		{map[string]any{"type": "NONE", "ignoreInterval": "24:00-08:00"}, "ignoreInterval"},
		{map[string]any{"ignoreInterval": "08:60-09:00"}, "ignoreInterval"},
		{map[string]any{"ignoreDuration": -1}, "ignoreDuration"},
		{map[string]any{"ignoreDuration": 604800001}, "ignoreDuration"},
		{map[string]any{"ignoreDuration": 1.5}, "ignoreDuration"},
		{map[string]any{"ignoreDuration": "12a"}, "ignoreDuration"},
	} {
		code, env := f.call("PUT", app, bad.body)
		f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : "+bad.field)
	}
	code, env := f.call("PUT", "/users/bob/notification/room/x", map[string]any{})
	f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : chattype")
	env = f.must("GET", app, nil)
	if env.Data["type"] != "AT" || env.Data["ignoreInterval"] != "22:00-07:00" {
		f.t.Errorf("after rejected updates GET = %v, want unchanged", env.Data)
	}

	// Conversation level: DEFAULT by default, intervals not stored (D18),
	// durations echoed as expiry timestamps.
	before := time.Now().UnixMilli()
	env = f.must("PUT", "/users/bob/notification/chatgroup/g1",
		map[string]any{"ignoreInterval": "08:00-10:00", "ignoreDuration": "86400000"})
	after := time.Now().UnixMilli()
	exp, _ := env.Data["ignoreDuration"].(float64)
	if env.Data["type"] != "DEFAULT" || env.Data["ignoreInterval"] != "" ||
		int64(exp) < before+86400000 || int64(exp) > after+86400000 {
		f.t.Errorf("conversation echo = %v, want DEFAULT, \"\", now+86400000", env.Data)
	}
	f.must("PUT", "/users/bob/notification/user/Carol", map[string]any{"type": "NONE"})

	// Bulk reads (§5.4): in the order asked, unset ones left out.
	code, list := f.listConversations("/users/bob/notification?conversations=" +
		"user:CAROL,chatgroup:g2,chatgroup:g1")
	if code != 200 || len(list) != 2 || list[0]["key"] != "carol" ||
		list[0]["type"] != "NONE" || list[1]["key"] != "g1" || list[1]["ignoreDuration"] != exp {
		f.t.Errorf("bulk read = %d %v, want carol NONE then g1", code, list)
	}
	code, list = f.listConversations("/users/bob/notification/conversations")
	if code != 200 || len(list) != 2 || list[0]["chattype"] != "chatgroup" ||
		list[1]["chattype"] != "user" {
		f.t.Errorf("sync list = %d %v, want chatgroup g1 then user carol", code, list)
	}
	tooMany := strings.Repeat("user:x,", 20) + "user:y"
	code, env = f.call("GET", "/users/bob/notification?conversations="+tooMany, nil)
	f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : conversations")
	code, env = f.call("GET", "/users/bob/notification?conversations=user:", nil)
	f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : conversations")

	// A user token reaches its own settings only.
	bob, carol := f.userToken("bob"), f.userToken("carol")
	if code, _ := f.callAs(bob, "GET", app, nil); code != 200 {
		f.t.Errorf("bob's token on bob's settings: %d, want 200", code)
	}
	code, env = f.callAs(carol, "GET", app, nil)
	f.wantError(code, env, 403, "forbidden_op", "forbidden operation")

	// Clearing (§5.3): no DELETE, the values that mean "unset".
	f.must("PUT", app, map[string]any{"type": "ALL", "ignoreInterval": "", "ignoreDuration": 0})
	f.must("PUT", "/users/bob/notification/chatgroup/g1",
		map[string]any{"type": "DEFAULT", "ignoreDuration": 0})
	f.must("PUT", "/users/bob/notification/user/carol", map[string]any{"type": "DEFAULT"})
	if code, list = f.listConversations("/users/bob/notification/conversations"); len(list) != 0 {
		f.t.Errorf("after clearing, sync list = %d %v, want empty", code, list)
	}
}

// listConversations reads a bulk settings answer, whose data is a list.
func (f *fixture) listConversations(path string) (int, []map[string]any) {
	f.t.Helper()
	var env struct {
		Data []map[string]any `json:"data"`
	}
	code := httpJSON(f.t, "GET", f.node.url(path), f.token, nil, &env)
	return code, env.Data
}

// testIntervalAndForced: an app interval around now stops the push (D01);
// a forced message passes it (E04); one away from now does not stop it.
func testIntervalAndForced(f *fixture) {
	const app = "/users/bob/notification/user/bob"
	defer f.must("PUT", app, map[string]any{"ignoreInterval": ""})

	f.must("PUT", app, map[string]any{"ignoreInterval": localWindow(f.t, "Asia/Shanghai", true)})
	f.wantNothingSent(nil)
	f.wantNothingSent(map[string]any{"ext": map[string]any{"em_force_notification": "yes"}})
	f.wantPushed(map[string]any{"ext": map[string]any{"em_force_notification": "YES"}})

	f.must("PUT", app, map[string]any{"ignoreInterval": localWindow(f.t, "Asia/Shanghai", false)})
	f.wantPushed(nil)
}

// testUserTimezone: the window is read in the user's zone when set (§6.2).
func testUserTimezone(f *fixture) {
	const app = "/users/bob/notification/user/bob"
	const tz = "/users/bob/notification/timezone"
	defer f.must("PUT", app, map[string]any{"ignoreInterval": ""})
	defer f.must("PUT", tz, map[string]any{"timezone": ""})

	code, env := f.call("PUT", tz, map[string]any{"timezone": "Mars/Olympus"})
	f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : timezone")
	env = f.must("PUT", tz, map[string]any{"timezone": "America/New_York"})
	if env.Data["timezone"] != "America/New_York" {
		f.t.Errorf("timezone echo = %v", env.Data)
	}
	if env = f.must("GET", tz, nil); env.Data["timezone"] != "America/New_York" {
		f.t.Errorf("timezone GET = %v", env.Data)
	}
	// New York is 12 or 13 hours from Shanghai: a window around now there
	// is far from now in Shanghai.
	f.must("PUT", app, map[string]any{"ignoreInterval": localWindow(f.t, "America/New_York", true)})
	f.wantNothingSent(nil)
	f.must("PUT", tz, map[string]any{"timezone": ""})
	f.wantPushed(nil)
}

// testDurationExpires: an app duration stops pushes until it expires, then
// reads 0 and pushes flow again (D11, §6.3).
func testDurationExpires(f *fixture) {
	const app = "/users/bob/notification/user/bob"
	f.must("PUT", app, map[string]any{"ignoreDuration": 14400000})
	f.wantNothingSent(nil)

	f.must("PUT", app, map[string]any{"ignoreDuration": 1500})
	waitFor(f.t, "the 1.5 s duration to read 0", 10*time.Second, func() bool {
		return f.must("GET", app, nil).Data["ignoreDuration"] == float64(0)
	})
	f.wantPushed(nil)
}

// testModes: a muted group stops group messages only (C08); app mode AT
// passes a mention in any case and uses the @ wording (C04, §8.5).
func testModes(f *fixture) {
	const app = "/users/bob/notification/user/bob"
	const g1 = "/users/bob/notification/chatgroup/g1"
	defer f.must("PUT", app, map[string]any{"type": "ALL"})
	defer f.must("PUT", g1, map[string]any{"type": "DEFAULT"})

	f.must("PUT", g1, map[string]any{"type": "NONE"})
	f.wantNothingSent(group(nil))
	f.wantPushed(nil)
	f.must("PUT", g1, map[string]any{"type": "DEFAULT"})

	f.must("PUT", app, map[string]any{"type": "AT"})
	f.wantNothingSent(group(nil))
	f.wantNothingSent(nil)
	alert := f.wantPushed(group(map[string]any{"em_at_list": []string{"BOB"}}))
	if alert["body"] != "alice在群中@了你" || alert["title"] != "您有一条新消息" {
		f.t.Errorf("@ wording = %v, want alice在群中@了你", alert)
	}
	alert = f.wantPushed(group(map[string]any{"em_at_list": "ALL",
		"em_push_template": map[string]any{"disable_at_content": true}}))
	if alert["body"] != "请点击查看" {
		f.t.Errorf("disable_at_content: body = %v, want the default content", alert["body"])
	}
}

// testFilter: under any_offline, em_push_filter keeps one device (E08).
func testFilter(f *fixture) {
	defer f.must("PUT", "/push/config", map[string]any{"multi_device_policy": "all_offline"})
	defer f.must("PUT", "/users/bob/push/binding",
		map[string]any{"device_id": "d2", "device_token": "", "notifier_name": ""})

	d2 := hexToken("bob-d2")
	f.must("PUT", "/users/bob/push/binding",
		map[string]any{"device_id": "d2", "device_token": d2, "notifier_name": "apns-dev"})
	f.must("PUT", "/push/config", map[string]any{"multi_device_policy": "any_offline"})
	id, recs := f.send(map[string]any{"ext": map[string]any{
		"em_push_filter": map[string]any{"accept_device_id": []string{"d2"}}}})
	if len(recs) != 1 || recs[0].Token != d2 {
		f.t.Fatalf("filtered message %s reached %d devices (%+v), want only d2", id,
			len(recs), recs)
	}
}

// testDisplayStyle: style 1 shows the sender's nickname and the text
// (F02); nicknames come from PUT /users/{u} and the batch (G08).
func testDisplayStyle(f *fixture) {
	defer f.must("PUT", "/users/bob", map[string]any{"notification_display_style": 0})
	defer f.must("PUT", "/users/alice", map[string]any{"nickname": ""})

	code, env := f.call("PUT", "/users/bob", map[string]any{"notification_display_style": 2})
	f.wantError(code, env, 400, "illegal_argument",
		"parameters is invalid : notification_display_style")
	env = f.must("PUT", "/users/bob", map[string]any{"notification_display_style": "1"})
	if len(env.Entities) != 1 || env.Entities[0]["notification_display_style"] != float64(1) ||
		env.Entities[0]["username"] != "bob" || env.Entities[0]["type"] != "user" {
		f.t.Errorf("PUT /users/bob entities = %v", env.Entities)
	}
	if alert := f.wantPushed(nil); alert["body"] != "alice: hi" {
		f.t.Errorf("style 1 without nickname: body = %v, want alice: hi", alert["body"])
	}
	f.must("PUT", "/users/alice", map[string]any{"nickname": "Alice"})
	if alert := f.wantPushed(nil); alert["body"] != "Alice: hi" {
		f.t.Errorf("style 1 with nickname: body = %v, want Alice: hi", alert["body"])
	}

	batch := make([]map[string]any, 51)
	for i := range batch {
		batch[i] = map[string]any{"username": fmt.Sprint("u", i), "push_nickname": "n"}
	}
	code, env = f.call("PUT", "/push/nickname", batch)
	f.wantError(code, env, 400, "illegal_argument", "put user push nicknames exceeds the limit")
	code, env = f.call("PUT", "/push/nickname", []any{})
	f.wantError(code, env, 400, "illegal_argument",
		"put user push nicknames illegal empty request body")
	code, env = f.call("PUT", "/push/nickname", []map[string]any{
		{"username": "alice", "push_nickname": "Ally"},
		{"username": "carol", "push_nickname": strings.Repeat("n", 101)},
	})
	f.wantError(code, env, 400, "illegal_argument", "carol push nickname length exceeds the limit")
	if alert := f.wantPushed(nil); alert["body"] != "Alice: hi" {
		f.t.Errorf("after a rejected batch: body = %v, want Alice: hi", alert["body"])
	}
	env = f.must("PUT", "/push/nickname", []map[string]any{
		{"username": "Alice", "push_nickname": "Ally"}, {"username": "carol", "push_nickname": ""}})
	if len(env.Entities) != 2 || env.Entities[0]["push_nickname"] != "Ally" {
		f.t.Errorf("batch entities = %v", env.Entities)
	}
	if alert := f.wantPushed(nil); alert["body"] != "Ally: hi" {
		f.t.Errorf("after the batch: body = %v, want Ally: hi", alert["body"])
	}
}

// testTemplates: a sender-named template with positional args (F11), the
// receiver template (user token only), DELETE and the built-ins (G03).
func testTemplates(f *fixture) {
	env := f.must("POST", "/notification/template",
		map[string]any{"name": "st", "title_pattern": "T {1}", "content_pattern": "{0}-{1}"})
	if env.Data["name"] != "st" || env.Data["createAt"] == float64(0) {
		f.t.Errorf("created template = %v", env.Data)
	}
	code, env := f.call("POST", "/notification/template",
		map[string]any{"name": "bad name", "title_pattern": "t", "content_pattern": "c"})
	f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : name")
	code, env = f.call("POST", "/notification/template",
		map[string]any{"name": "x", "title_pattern": "", "content_pattern": "c"})
	f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : title_pattern")

	alert := f.wantPushed(map[string]any{"ext": map[string]any{
		"em_push_template": map[string]any{"name": "st", "content_args": []string{"a"}}}})
	if alert["body"] != "a-" || alert["title"] != "T " {
		f.t.Errorf("F11 alert = %v, want title \"T \" body a-", alert)
	}

	// The receiver template is for the user's own token only.
	code, env = f.call("PUT", "/users/bob/notification/template",
		map[string]any{"templateName": "st"})
	f.wantError(code, env, 403, "forbidden_op", "forbidden operation")
	bob := f.userToken("bob")
	code, env = f.callAs(bob, "PUT", "/users/bob/notification/template",
		map[string]any{"templateName": "nope"})
	f.wantError(code, env, 400, "entity_not_found", "nope template is not exist")
	f.must("PUT", "/notification/template/st", map[string]any{"content_pattern": "{$msg}!"})
	if code, env = f.callAs(bob, "PUT", "/users/bob/notification/template",
		map[string]any{"templateName": "st"}); code != 200 || env.Data["templateName"] != "st" {
		f.t.Fatalf("receiver template: %d %+v", code, env)
	}
	if alert := f.wantPushed(nil); alert["body"] != "hi!" {
		f.t.Errorf("receiver template: body = %v, want hi!", alert["body"])
	}

	// G03: DELETE answers the object; later reads fail; lower levels apply.
	env = f.must("DELETE", "/notification/template/st", nil)
	if env.Data["name"] != "st" || env.Data["content_pattern"] != "{$msg}!" {
		f.t.Errorf("deleted template = %v", env.Data)
	}
	code, env = f.call("GET", "/notification/template/st", nil)
	f.wantError(code, env, 400, "entity_not_found", "st template is not exist")
	if alert := f.wantPushed(nil); alert["body"] != "请点击查看" {
		f.t.Errorf("after delete: body = %v, want the default", alert["body"])
	}
	code, env = f.call("DELETE", "/notification/template/default", nil)
	f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : name")
	if code, env = f.callAs(bob, "GET", "/users/bob/notification/template", nil); code != 200 ||
		env.Data["templateName"] != "st" {
		f.t.Errorf("receiver template GET = %d %v", code, env.Data)
	}
	f.mustAs(bob, "PUT", "/users/bob/notification/template", map[string]any{"templateName": ""})
}

func (f *fixture) mustAs(token, method, path string, body any) envelope {
	f.t.Helper()
	code, env := f.callAs(token, method, path, body)
	if code != 200 {
		f.t.Fatalf("%s %s: status %d %+v", method, path, code, env)
	}
	return env
}

// testTranslation: {$msg} uses the recipient's language (§9, G12).
func testTranslation(f *fixture) {
	const lang = "/users/bob/notification/language"
	defer f.must("PUT", "/users/bob", map[string]any{"notification_display_style": 0})
	defer f.must("PUT", lang, map[string]any{"translationLanguage": ""})

	env := f.must("PUT", lang, map[string]any{"translationLanguage": "en"})
	if env.Data["language"] != "en" {
		f.t.Errorf("language echo = %v", env.Data)
	}
	if env = f.must("GET", lang, nil); env.Data["language"] != "en" {
		f.t.Errorf("language GET = %v", env.Data)
	}
	f.must("PUT", "/users/bob", map[string]any{"notification_display_style": 1})
	body := map[string]any{"type": "txt", "text": "你好",
		"translations": map[string]string{"EN": "hello", "fr": "salut"}}
	if alert := f.wantPushed(map[string]any{"body": body}); alert["body"] != "alice: hello" {
		f.t.Errorf("translated body = %v, want alice: hello", alert["body"])
	}
}

// testPushConfig: a deep partial update with validation, the masked
// secret, summaries in the detail template and built-ins shared with the
// template API (§11.6, §8.6).
func testPushConfig(f *fixture) {
	defer f.must("PUT", "/users/bob", map[string]any{"notification_display_style": 0})

	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"dnd_timezone": "Nowhere/City"}, "dnd_timezone"},
		{map[string]any{"multi_device_policy": "some"}, "multi_device_policy"},
		{map[string]any{"rate_limits": map[string]any{"user": 0}}, "rate_limits.user"},
		{map[string]any{"webhook": map[string]any{"url": "ftp://x"}}, "webhook.url"},
		{map[string]any{"webhook": map[string]any{"events": []string{"sent"}}},
			"webhook.events"},
		{map[string]any{"type_summaries": map[string]any{"img": 1}}, "type_summaries.img"},
		{map[string]any{"builtin_templates": map[string]any{
			"default": map[string]any{"title_pattern": ""}}},
			"builtin_templates.default.title_pattern"},
	} {
		code, env := f.call("PUT", "/push/config", bad.body)
		f.wantError(code, env, 400, "illegal_argument", "parameters is invalid : "+bad.field)
	}

	env := f.must("PUT", "/push/config", map[string]any{
		"type_summaries": map[string]any{"img": "[Picture]"},
		"webhook":        map[string]any{"secret": "s3cret"},
		"builtin_templates": map[string]any{
			"detail": map[string]any{"title_pattern": "From {$fromNickname}"}},
	})
	summaries, _ := env.Data["type_summaries"].(map[string]any)
	webhook, _ := env.Data["webhook"].(map[string]any)
	if summaries["img"] != "[Picture]" || summaries["audio"] != "[Voice]" ||
		webhook["secret"] != "******" || env.Data["dnd_timezone"] != "Asia/Shanghai" {
		f.t.Errorf("config after update = %v", env.Data)
	}
	tmpl := f.must("GET", "/notification/template/detail", nil)
	if tmpl.Data["title_pattern"] != "From {$fromNickname}" {
		f.t.Errorf("built-in detail via the template API = %v", tmpl.Data)
	}

	f.must("PUT", "/users/bob", map[string]any{"notification_display_style": 1})
	alert := f.wantPushed(map[string]any{"body": map[string]any{"type": "img"}})
	if alert["title"] != "From alice" || alert["body"] != "alice: [Picture]" {
		f.t.Errorf("img with detail style = %v, want From alice / alice: [Picture]", alert)
	}
}

// TestSettingsSurviveRestart: every acknowledged setting is on disk, so a
// node restarted on its data directory answers and applies them.
func TestSettingsSurviveRestart(t *testing.T) {
	s := startSim(t)
	dataDir := t.TempDir()
	f := &fixture{quickstart: setUp(t, s, startNode(t, s, dataDir)), t: t}

	f.must("PUT", "/users/bob/notification/user/bob", map[string]any{"type": "AT"})
	f.must("PUT", "/users/bob/notification/chatgroup/g1", map[string]any{"type": "NONE"})
	f.must("PUT", "/users/bob/notification/timezone", map[string]any{"timezone": "Europe/Berlin"})
	f.must("PUT", "/users/alice", map[string]any{"nickname": "Alice"})
	f.must("POST", "/notification/template",
		map[string]any{"name": "st", "title_pattern": "t", "content_pattern": "{$msg}"})
	f.must("PUT", "/push/config", map[string]any{"dnd_timezone": "Asia/Tokyo"})

	f.node.stop(t)
	f.node = startNode(t, s, dataDir)

	checks := []struct {
		path, key string
		want      any
	}{
		{"/users/bob/notification/user/bob", "type", "AT"},
		{"/users/bob/notification/chatgroup/g1", "type", "NONE"},
		{"/users/bob/notification/timezone", "timezone", "Europe/Berlin"},
		{"/notification/template/st", "content_pattern", "{$msg}"},
		{"/push/config", "dnd_timezone", "Asia/Tokyo"},
	}
	for _, c := range checks {
		if got := f.must("GET", c.path, nil).Data[c.key]; got != c.want {
			t.Errorf("after restart %s %s = %v, want %v", c.path, c.key, got, c.want)
		}
	}
	if env := f.must("GET", "/users/alice", nil); len(env.Entities) != 1 ||
		env.Entities[0]["nickname"] != "Alice" {
		t.Errorf("after restart /users/alice = %v", env.Entities)
	}
	// Mode AT still applies: an unmentioned one-to-one message is not sent.
	f.wantNothingSent(nil)
	alert := f.wantPushed(map[string]any{"ext": map[string]any{"em_at_list": []string{"bob"}}})
	if alert["title"] != "您有一条新消息" {
		t.Errorf("after restart alert = %v", alert)
	}
}
