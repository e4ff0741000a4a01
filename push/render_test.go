package push

import (
	"reflect"
	"strings"
	"testing"

	"github.com/herald-im/herald/messages"
)

// renderCase is one row of a rendering table: the fields of the pushed
// notification of device d1 that the row checks.
type renderCase struct {
	name    string
	ext     string
	setup   func(in *Input)
	title   string
	content string
	custom  string // "" = not checked
}

func runRenderCases(t *testing.T, cases []renderCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture(t, tc.ext)
			if tc.setup != nil {
				tc.setup(&in)
			}
			n := pushed(t, Decide(in), "d1")
			if n.Title != tc.title || n.Body != tc.content {
				t.Errorf("Decide(%s %s) title, content = %q, %q, want %q, %q",
					tc.name, tc.ext, n.Title, n.Body, tc.title, tc.content)
			}
			if tc.custom != "" && string(n.Custom) != tc.custom {
				t.Errorf("Decide(%s %s).custom = %s, want %s",
					tc.name, tc.ext, n.Custom, tc.custom)
			}
		})
	}
}

const (
	newMessage = "您有一条新消息"
	clickView  = "请点击查看"
)

func TestRenderLevels123(t *testing.T) {
	runRenderCases(t, []renderCase{
		{name: "F01 style 0 default template", title: newMessage, content: clickView,
			custom: `{"f":"alice","t":"bob","m":"m1"}`},
		{name: "F06 em_push_ext title and content",
			ext: `{"em_push_ext":{"title":"T","content":"C"}}`, title: "T", content: "C"},
		{name: "level3 title only", ext: `{"em_push_ext":{"title":"T"}}`,
			title: "T", content: clickView},
		{name: "level3 content only", ext: `{"em_push_ext":{"content":"C"}}`,
			title: newMessage, content: "C"},
		{name: "level3 em_push_ext beats em_apns_ext",
			ext:   `{"em_push_ext":{"title":"T1"},"em_apns_ext":{"em_push_title":"T2"}}`,
			title: "T1", content: clickView},
		{name: "level3 em_push_title beats em_push_name",
			ext:   `{"em_apns_ext":{"em_push_title":"T2","em_push_name":"N"}}`,
			title: "T2", content: clickView},
		{name: "level3 em_push_name as legacy title",
			ext:   `{"em_apns_ext":{"em_push_name":"N","em_push_content":"C2"}}`,
			title: "N", content: "C2"},
		{name: "level3 empty falls through",
			ext:   `{"em_push_ext":{"title":"","content":""},"em_apns_ext":{"em_push_title":"T"}}`,
			title: "T", content: clickView},
		{name: "level3 non-string is absent",
			ext:   `{"em_push_ext":{"title":7,"content":{"a":1}}}`,
			title: newMessage, content: clickView},
		{name: "level3 used literally",
			ext:   `{"em_push_ext":{"title":"{$fromNickname}","content":"{0}"}}`,
			title: "{$fromNickname}", content: "{0}"},
		{name: "builtin text configured per app",
			setup: func(in *Input) {
				in.App.Templates[TemplateDefault].TitlePattern = "New from {$fromNickname}"
			},
			title: "New from alice", content: clickView},
		{name: "builtin missing from the app record",
			setup: func(in *Input) { in.App.Templates = nil },
			title: newMessage, content: clickView},
	})
}

func TestRenderCustomKeys(t *testing.T) {
	runRenderCases(t, []renderCase{
		{name: "A01 chat has no g", title: newMessage, content: clickView,
			custom: `{"f":"alice","t":"bob","m":"m1"}`},
		{name: "A03 groupchat has g", setup: toGroup, title: newMessage, content: clickView,
			custom: `{"f":"alice","t":"bob","m":"m1","g":"g1"}`},
		{name: "e from em_push_ext.custom",
			ext:   `{"em_push_ext":{"custom":{"b":[1, 2],"a":"x"}},"em_apns_ext":{"extern":1}}`,
			title: newMessage, content: clickView,
			custom: `{"f":"alice","t":"bob","m":"m1","e":{"b":[1,2],"a":"x"}}`},
		{name: "e from a scalar custom",
			ext:   `{"em_push_ext":{"custom":"s"}}`,
			title: newMessage, content: clickView,
			custom: `{"f":"alice","t":"bob","m":"m1","e":"s"}`},
		{name: "e skips null custom for extern",
			ext:   `{"em_push_ext":{"custom":null},"em_apns_ext":{"extern":{"k":"v"}}}`,
			title: newMessage, content: clickView,
			custom: `{"f":"alice","t":"bob","m":"m1","e":{"k":"v"}}`},
		{name: "F20 e from the rest of em_apns_ext",
			ext:   `{"em_apns_ext":{"em_push_sound":"ring.caf","em_push_title":"T"}}`,
			title: "T", content: clickView,
			custom: `{"f":"alice","t":"bob","m":"m1","e":{"em_push_sound":"ring.caf"}}`},
		{name: "e absent when only text keys remain",
			ext: `{"em_apns_ext":{"em_push_title":"T","em_push_content":"C",` +
				`"em_push_name":"N","em_push_channel_id":"c","em_huawei_push_badge_class":"b"}}`,
			title: "T", content: "C", custom: `{"f":"alice","t":"bob","m":"m1"}`},
		{name: "e absent without ext keys", ext: `{"em_push_ext":{"title":"T"}}`,
			title: "T", content: clickView, custom: `{"f":"alice","t":"bob","m":"m1"}`},
		{name: "t is the lower-cased recipient",
			setup: func(in *Input) { in.Recipient = "BOB" }, title: newMessage,
			content: clickView, custom: `{"f":"alice","t":"bob","m":"m1"}`},
		{name: "custom strings escaped",
			setup: func(in *Input) { in.Message.MsgId = "a\"b\\c\n" },
			title: newMessage, content: clickView,
			custom: `{"f":"alice","t":"bob","m":"a\"b\\c\n"}`},
	})
}

func TestRenderBadge(t *testing.T) {
	cases := []struct {
		name  string
		ext   string
		badge int64
	}{
		{"device counter", `{}`, 4},
		{"em_push_badge override", `{"em_apns_ext":{"em_push_badge":9}}`, 9},
		{"em_push_badge zero", `{"em_apns_ext":{"em_push_badge":0}}`, 0},
		{"negative badge ignored", `{"em_apns_ext":{"em_push_badge":-1}}`, 4},
		{"fractional badge ignored", `{"em_apns_ext":{"em_push_badge":2.5}}`, 4},
		{"string badge ignored", `{"em_apns_ext":{"em_push_badge":"2"}}`, 4},
	}
	for _, tc := range cases {
		in := fixture(t, tc.ext)
		in.Devices["d1"].Badge = 4
		n := pushed(t, Decide(in), "d1")
		if !n.HasBadge || n.Badge != tc.badge {
			t.Errorf("Decide(%s).badge = %v/%d, want true/%d", tc.name, n.HasBadge, n.Badge,
				tc.badge)
		}
	}
}

// TestBadgeA13 follows SPEC.md §13 A13 through CountBadge and Decide.
func TestBadgeA13(t *testing.T) {
	in := fixture(t, `{}`)
	in.User.Bindings = []*messages.Binding{bind("d1", "apns-prod", "T1")}
	in.Devices["d1"] = device(offline, 0)

	send := func(ext string) Decision {
		x, err := ParseExt([]byte(ext))
		if err != nil {
			t.Fatalf("ParseExt(%s) = %v", ext, err)
		}
		in.Ext = x
		if Eligible(in.Message) {
			CountBadge(in.Devices)
		}
		return Decide(in)
	}
	silent := send(`{"em_ignore_notification":true}`)
	if got := summary(t, silent); got != "stop 5 message ignore push" {
		t.Errorf("Decide(silent) = %v, want stop 5", got)
	}
	if n := pushed(t, send(`{}`), "d1"); n.Badge != 2 {
		t.Errorf("Decide(2nd).badge = %d, want 2", n.Badge)
	}
	if n := pushed(t, send(`{}`), "d1"); n.Badge != 3 {
		t.Errorf("Decide(3rd).badge = %d, want 3", n.Badge)
	}

	// The grain resets the counter when d1 goes online (§3.1).
	in.Devices["d1"] = device(online, 0)
	in.Devices["d1"].State = offline
	if n := pushed(t, send(`{}`), "d1"); n.Badge != 1 {
		t.Errorf("Decide(after online).badge = %d, want 1", n.Badge)
	}
}

func TestRenderCollapseKey(t *testing.T) {
	long := strings.Repeat("k", 70)
	// 21 three-byte characters make 63 bytes; the 22nd would cross 64.
	cjk := strings.Repeat("键", 30)
	cases := []struct {
		name     string
		ext      string
		msgID    string
		want     string
		explicit bool
	}{
		{"msg id", `{}`, "m1", "m1", false},
		{"explicit key", `{"em_apns_ext":{"em_push_collapse_key":"c9"}}`, "m1", "c9", true},
		{"empty key falls back", `{"em_apns_ext":{"em_push_collapse_key":""}}`, "m1", "m1", false},
		{"non-string key ignored", `{"em_apns_ext":{"em_push_collapse_key":5}}`, "m1", "m1", false},
		{"long msg id cut", `{}`, long, long[:64], false},
		{"cut at a character boundary", `{}`, cjk, cjk[:63], false},
		{"long explicit key cut", `{"em_apns_ext":{"em_push_collapse_key":"` + long + `"}}`,
			"m1", long[:64], true},
	}
	for _, tc := range cases {
		in := fixture(t, tc.ext)
		in.Message.MsgId = tc.msgID
		n := pushed(t, Decide(in), "d1")
		if n.CollapseKey != tc.want || n.ExplicitCollapseKey != tc.explicit {
			t.Errorf("Decide(%s).collapse = %q/%v, want %q/%v", tc.name,
				n.CollapseKey, n.ExplicitCollapseKey, tc.want, tc.explicit)
		}
	}
}

func TestRenderVendorFields(t *testing.T) {
	const ext = `{"em_apns_ext":{"em_push_sound":"ring.caf","em_alert_subTitle":"S",` +
		`"em_push_category":"cat","thread_id":"th","em_push_mutable_content":"YES",` +
		`"em_push_content_available":1},` +
		`"em_android_push_ext":{ "fcm_channel_id" : "ch", "em_push_sound":"/raw/ring" }}`
	in := fixture(t, ext)
	in.User.Bindings = []*messages.Binding{
		bind("d1", "apns-prod", "T1"), bind("d1", "fcm-1", "F1"), bind("d2", "voip-1", "V2"),
	}
	call, err := ParseExt([]byte(`{"em_push_ext":{"type":"call"}}`))
	if err != nil {
		t.Fatal(err)
	}

	d := Decide(in)
	apns := d.Bindings[0].Notification
	fcm := d.Bindings[1].Notification
	if apns == nil || fcm == nil {
		t.Fatalf("Decide(vendor fields) = %s, want both d1 bindings pushed", summary(t, d))
	}
	checks := []struct {
		field string
		got   any
		want  any
	}{
		{"apns sound", apns.Sound, "ring.caf"},
		{"fcm sound", fcm.Sound, ""},
		{"subtitle", apns.Subtitle, "S"},
		{"category", apns.Category, "cat"},
		{"thread id", apns.ThreadId, "th"},
		{"mutable content", apns.MutableContent, true},
		{"content available", apns.ContentAvailable, true},
		{"apns voip", apns.Voip, false},
		{"android ext", string(fcm.AndroidExt), `{"fcm_channel_id":"ch","em_push_sound":"/raw/ring"}`},
		{"voip binding", d.Bindings[2].Stop, &Stop{Step: 9}},
		{"custom clipped", cap(apns.Custom), len(apns.Custom)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("Decide(%s) = %v, want %v", c.field, c.got, c.want)
		}
	}

	in.Ext = call
	if n := pushed(t, Decide(in), "d2"); !n.Voip {
		t.Errorf("Decide(call on voip-1).voip = false, want true")
	}
}

func TestRenderAPNsFlags(t *testing.T) {
	cases := []struct {
		ext               string
		mutable, contentA bool
	}{
		{`{"em_apns_ext":{"em_push_mutable_content":true}}`, true, false},
		{`{"em_apns_ext":{"em_push_mutable_content":"yes"}}`, false, false},
		{`{"em_apns_ext":{"em_push_mutable_content":1}}`, false, false},
		{`{"em_apns_ext":{"em_push_content_available":true}}`, false, true},
		{`{"em_apns_ext":{"em_push_content_available":"1"}}`, false, false},
		{`{"em_apns_ext":{"em_push_content_available":0}}`, false, false},
	}
	for _, tc := range cases {
		n := pushed(t, Decide(fixture(t, tc.ext)), "d1")
		if n.MutableContent != tc.mutable || n.ContentAvailable != tc.contentA {
			t.Errorf("Decide(%s) mutable, available = %v, %v, want %v, %v", tc.ext,
				n.MutableContent, n.ContentAvailable, tc.mutable, tc.contentA)
		}
	}
}
