package push

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/herald-im/herald/messages"
)

func TestParseExtRejects(t *testing.T) {
	for _, raw := range []string{`[]`, `1`, `"s"`, `null`, `true`, `{`, `{"a":1} x`, `{"a":}`,
		`{} {}`, "\xff"} {
		x, err := ParseExt([]byte(raw))
		if !errors.Is(err, ErrInvalidExt) || x != nil {
			t.Errorf("ParseExt(%q) = %v, %v, want nil, ErrInvalidExt", raw, x, err)
		}
	}
}

func TestParseExtEmpty(t *testing.T) {
	for _, raw := range []string{``, ` `, `{}`, " {\n} "} {
		x, err := ParseExt([]byte(raw))
		if err != nil || !reflect.DeepEqual(x, &Ext{}) {
			t.Errorf("ParseExt(%q) = %+v, %v, want empty Ext", raw, x, err)
		}
	}
}

func TestParseExtFields(t *testing.T) {
	cases := []struct {
		raw  string
		got  func(x *Ext) any
		want any
	}{
		{`{"em_force_notification":"YES"}`, func(x *Ext) any { return x.Forced() }, true},
		{`{"em_force_notification":"Yes"}`, func(x *Ext) any { return x.Forced() }, false},
		{`{"em_force_notification":"TRUE"}`, func(x *Ext) any { return x.Forced() }, true},
		{`{"em_ignore_notification":false}`, func(x *Ext) any { return x.Silent() }, false},
		{`{"em_ignore_notification" : true }`, func(x *Ext) any { return x.Silent() }, true},
		{`{"EM_IGNORE_NOTIFICATION":true}`, func(x *Ext) any { return x.Silent() }, false},
		{`{"em_ignore_notification":"tr\u0075e"}`, func(x *Ext) any { return x.Silent() }, true},
		{`{"em_push_ext":{"type":"call"}}`, func(x *Ext) any { return x.Call() }, true},
		{`{"em_push_ext":"call"}`, func(x *Ext) any { return x.Call() }, false},

		{`{"em_at_list":"ALL"}`, func(x *Ext) any { return x.mentionAll }, true},
		{`{"em_at_list":"Bob"}`, func(x *Ext) any { return x.mentionIDs }, []string{"bob"}},
		{`{"em_at_list":["BOB",1,null,"Carol"]}`, func(x *Ext) any { return x.mentionIDs },
			[]string{"bob", "carol"}},
		{`{"em_at_list":["all"]}`, func(x *Ext) any { return x.mentionAll }, false},
		{`{"em_at_list":5,"em_apns_ext":{"em_at_list":["Dan"]}}`,
			func(x *Ext) any { return x.mentionIDs }, []string{"dan"}},
		{`{"em_at_list":[],"em_apns_ext":{"em_at_list":["Dan"]}}`,
			func(x *Ext) any { return x.mentionIDs }, []string{}},

		{`{"em_push_template":{"name":"st","title_args":["a",1,true,null,{},2.5],` +
			`"content_args":"x"}}`,
			func(x *Ext) any { return x.template.outer },
			templateRef{name: "st", titleArgs: []string{"a", "1", "true", "", "", "2.5"}}},
		{`{"em_push_template":{"directed_template":{"name":"d","target":["bob","Eve"],` +
			`"content_args":["c"]},"disable_at_content":"true"}}`,
			func(x *Ext) any {
				return []any{x.template.directed, x.template.directedTargets,
					x.template.disableAtContent}
			},
			[]any{templateRef{name: "d", contentArgs: []string{"c"}},
				[]string{"bob", "Eve"}, true}},
		{`{"em_android_push_ext":[1]}`, func(x *Ext) any { return x.androidExt }, []byte(nil)},
		{`{"em_android_push_ext":{ "a" : 1 }}`, func(x *Ext) any { return string(x.androidExt) },
			`{"a":1}`},
		{`{"em_apns_ext":{"em_push_channel_id":"c","em_huawei_push_badge_class":"B"}}`,
			func(x *Ext) any { return string(x.androidExt) },
			`{"em_push_channel_id":"c","em_huawei_push_badge_class":"B"}`},
		{`{"em_apns_ext":{"em_push_channel_id":"c"},"em_android_push_ext":{}}`,
			func(x *Ext) any { return string(x.androidExt) }, `{"em_push_channel_id":"c"}`},
		{`{"em_apns_ext":{"em_push_channel_id":"c","em_huawei_push_badge_class":"B"},` +
			`"em_android_push_ext":{"em_push_channel_id":"a","x":[]}}`,
			func(x *Ext) any { return string(x.androidExt) },
			`{"em_push_channel_id":"a","x":[],"em_huawei_push_badge_class":"B"}`},
		{`{"em_push_ext":{"custom":{"a":"\u00e9"}}}`, func(x *Ext) any { return string(x.custom) },
			`{"a":"\u00e9"}`},
		{`{"em_apns_ext":{"em_push_title":"T","thread_id":"x","em_push_name":"N"}}`,
			func(x *Ext) any { return string(x.custom) }, `{"thread_id":"x"}`},
	}
	for _, tc := range cases {
		x, err := ParseExt([]byte(tc.raw))
		if err != nil {
			t.Errorf("ParseExt(%s) = %v", tc.raw, err)
			continue
		}
		if got := tc.got(x); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseExt(%s) = %#v, want %#v", tc.raw, got, tc.want)
		}
	}
}

func FuzzParseExt(f *testing.F) {
	f.Add([]byte(`{"em_push_ext":{"custom":{"k":[1,"}"]}},"em_at_list":"all"}`))
	f.Add([]byte(`{"em_apns_ext":{"em_push_badge":3,"extern":null,"a\"b":"\\"}}`))
	f.Add([]byte(`{"em_push_filter":{"accept_device_id":["d1"]},"em_push_template":{}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		x, err := ParseExt(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidExt) || x != nil {
				t.Fatalf("ParseExt(%q) = %v, %v, want nil, ErrInvalidExt", raw, x, err)
			}
			// Ingestion rejects the same ext and names the field.
			m := &messages.PushMessage{MsgId: "m1", From: "alice", ChatType: "chat",
				To: []string{"bob"}, Body: &messages.Body{Type: "txt", Text: "hi"}, Ext: raw}
			if e := messages.ValidatePushMessage(m); e.GetField() != "ext" {
				t.Fatalf("ValidatePushMessage with ext %q = %v, want field ext", raw, e)
			}
			return
		}
		if len(trimSpace(raw)) > 0 && (!json.Valid(raw) || kindOf(raw) != '{') {
			t.Fatalf("ParseExt(%q) accepted a non-object", raw)
		}
		if x.custom != nil && !json.Valid(x.custom) {
			t.Fatalf("ParseExt(%q).custom = %q, not JSON", raw, x.custom)
		}
		if x.androidExt != nil && (!json.Valid(x.androidExt) || kindOf(x.androidExt) != '{') {
			t.Fatalf("ParseExt(%q).androidExt = %q, not an object", raw, x.androidExt)
		}

		// Whatever the ext, rendering must produce valid custom JSON.
		in := fixture(t, `{}`)
		in.Ext = x
		for _, b := range Decide(in).Bindings {
			if n := b.Notification; n != nil && !json.Valid(n.Custom) {
				t.Fatalf("Decide(%q).custom = %q, not JSON", raw, n.Custom)
			}
		}
	})
}
