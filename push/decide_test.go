package push

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
)

// decideCase is one row of a decision table: an ext, a change to the
// fixture, and the expected summary (see summary).
type decideCase struct {
	name  string
	ext   string
	setup func(in *Input)
	want  string
}

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ext := tc.ext
			if ext == "" {
				ext = "{}"
			}
			in := fixture(t, ext)
			if tc.setup != nil {
				tc.setup(&in)
			}
			if got := summary(t, Decide(in)); got != tc.want {
				t.Errorf("Decide(%s %s) = %v, want %v", tc.name, ext, got, tc.want)
			}
		})
	}
}

func TestDecideMessageAndRecipient(t *testing.T) {
	runDecideCases(t, []decideCase{
		{name: "A01 chat pushed", want: "d1/fcm-1=push"},
		{name: "step1 chatroom", setup: func(in *Input) { in.Message.ChatType = "chatroom" },
			want: "stop 1"},
		{name: "step1 cmd", setup: func(in *Input) { in.Message.Body.Type = "cmd" },
			want: "stop 1"},
		{name: "step1 route online", setup: func(in *Input) { in.Message.Route = "online" },
			want: "stop 1"},
		{name: "step1 nil message", setup: func(in *Input) { in.Message = nil },
			want: "stop 1"},

		{name: "step2 bound device online",
			setup: func(in *Input) { in.Devices["d1"].State = online }, want: "stop 2"},
		{name: "step2 unbound device online (all_offline)",
			setup: func(in *Input) { in.Devices["web"] = device(online, 0) }, want: "stop 2"},
		{name: "step2 E06 forced while online", ext: `{"em_force_notification":true}`,
			setup: func(in *Input) { in.Devices["d1"].State = online }, want: "stop 2"},
		{name: "step2 online beats invalid",
			setup: func(in *Input) { in.Devices["d1"].State = online; in.Ext = nil },
			want:  "stop 2"},
		{name: "step2 kicked is not online",
			setup: func(in *Input) { in.Devices["d1"].State = kicked }, want: "stop 7"},

		{name: "step3 unparsable ext", setup: func(in *Input) { in.Ext = nil },
			want: "stop 3 invalid message"},
		{name: "step3 unknown body type", setup: func(in *Input) { in.Message.Body.Type = "x" },
			want: "stop 3 invalid message"},
		{name: "step3 no body", setup: func(in *Input) { in.Message.Body = nil },
			want: "stop 3 invalid message"},
		{name: "step3 body and ext over 5120 bytes",
			setup: func(in *Input) { in.Message.Body.Text = strings.Repeat("x", 5120) },
			want:  "stop 3 invalid message"},
		{name: "step3 body and ext exactly 5120 bytes",
			// {"type":"txt","text":""} is 24 bytes plus the text; ext {} is 2.
			setup: func(in *Input) { in.Message.Body.Text = strings.Repeat("x", 5120-26) },
			want:  "d1/fcm-1=push"},
		{name: "step3 body and ext one byte over",
			setup: func(in *Input) { in.Message.Body.Text = strings.Repeat("x", 5120-25) },
			want:  "stop 3 invalid message"},
		{name: "step3 escaped text counts escaped",
			setup: func(in *Input) { in.Message.Body.Text = strings.Repeat(`"`, 2560) },
			want:  "stop 3 invalid message"},

		{name: "step4 older than 24h",
			setup: func(in *Input) { in.Message.Timestamp = fixtureNow.UnixMilli() - 86400001 },
			want:  "stop 4 expire message"},
		{name: "step4 exactly 24h",
			setup: func(in *Input) { in.Message.Timestamp = fixtureNow.UnixMilli() - 86400000 },
			want:  "d1/fcm-1=push"},
		{name: "step4 no timestamp uses acceptance time",
			setup: func(in *Input) {
				in.Message.Timestamp = 0
				in.Message.AcceptedAt = fixtureNow.UnixMilli() - 90000000
			},
			want: "stop 4 expire message"},
		{name: "step4 no time at all", setup: func(in *Input) { in.Message.Timestamp = 0 },
			want: "d1/fcm-1=push"},

		{name: "step5 silent true", ext: `{"em_ignore_notification":true}`,
			want: "stop 5 message ignore push"},
		{name: "step5 silent YES", ext: `{"em_ignore_notification":"YES"}`,
			want: "stop 5 message ignore push"},
		{name: "step5 silent TrUe", ext: `{"em_ignore_notification":"TrUe"}`,
			want: "stop 5 message ignore push"},
		{name: "step5 yes is no flag", ext: `{"em_ignore_notification":"yes"}`,
			want: "d1/fcm-1=push"},
		{name: "step5 1 is no flag", ext: `{"em_ignore_notification":1}`,
			want: "d1/fcm-1=push"},
		{name: "step5 \"1\" is no flag", ext: `{"em_ignore_notification":"1"}`,
			want: "d1/fcm-1=push"},
		{name: "step5 silent beats forced",
			ext:  `{"em_ignore_notification":true,"em_force_notification":true}`,
			want: "stop 5 message ignore push"},
		{name: "step5 silent before no binding", ext: `{"em_ignore_notification":true}`,
			setup: func(in *Input) { in.User = nil }, want: "stop 5 message ignore push"},

		{name: "mixed-case recipient is lower-cased", ext: `{"em_at_list":["bob"]}`,
			setup: func(in *Input) {
				in.Recipient = "BoB"
				in.User.AppSetting = &messages.NotificationSetting{Type: ModeAt}
			},
			want: "d1/fcm-1=push"},
		{name: "no app record", setup: func(in *Input) { in.App = nil },
			want: "d1/fcm-1=stop 12 no notifier exist"},
		{name: "step6 A09 no binding", setup: func(in *Input) { in.User.Bindings = nil },
			want: "stop 6 no push binding"},
		{name: "step6 no user state", setup: func(in *Input) { in.User = nil },
			want: "stop 6 no push binding"},
		{name: "step6 A03 carol unbound in group",
			setup: func(in *Input) { toGroup(in); in.Recipient = "carol"; in.User = nil },
			want:  "stop 6 no push binding"},
	})
}

func TestDecidePresencePolicies(t *testing.T) {
	anyOffline := func(in *Input) { in.App.Config.MultiDevicePolicy = PolicyAnyOffline }
	runDecideCases(t, []decideCase{
		{name: "all_offline A08 kicked d1 silent, d2 pushed",
			setup: func(in *Input) { twoDevices(in, kicked, offline) },
			want:  "d1/fcm-1=stop 7 d2/apns-prod=push"},
		{name: "all_offline every device kicked",
			setup: func(in *Input) { twoDevices(in, kicked, kicked) }, want: "stop 7"},
		{name: "all_offline one device online",
			setup: func(in *Input) { twoDevices(in, online, offline) }, want: "stop 2"},
		{name: "all_offline unseen bound device is offline",
			setup: func(in *Input) { in.Devices = nil }, want: "d1/fcm-1=push"},
		{name: "all_offline unspecified state is offline",
			setup: func(in *Input) { in.Devices["d1"].State = 0 }, want: "d1/fcm-1=push"},

		{name: "any_offline online d1 excluded, offline d2 pushed",
			setup: func(in *Input) { anyOffline(in); twoDevices(in, online, offline) },
			want:  "d1/fcm-1=stop 7 d2/apns-prod=push"},
		{name: "any_offline all online",
			setup: func(in *Input) { anyOffline(in); twoDevices(in, online, online) },
			want:  "stop 2"},
		{name: "any_offline online and kicked",
			setup: func(in *Input) { anyOffline(in); twoDevices(in, online, kicked) },
			want:  "stop 2"},
		{name: "any_offline online plus unseen bound device",
			setup: func(in *Input) {
				anyOffline(in)
				twoDevices(in, online, offline)
				delete(in.Devices, "d2")
			},
			want: "d1/fcm-1=stop 7 d2/apns-prod=push"},
		{name: "any_offline kicked and offline",
			setup: func(in *Input) { anyOffline(in); twoDevices(in, kicked, offline) },
			want:  "d1/fcm-1=stop 7 d2/apns-prod=push"},
		{name: "any_offline E08 filter accepts d2",
			ext:   `{"em_push_filter":{"accept_device_id":["d2"]}}`,
			setup: func(in *Input) { anyOffline(in); twoDevices(in, offline, offline) },
			want:  "d1/fcm-1=stop 11 ignore push device id d2/apns-prod=push"},
	})
}

func TestDecideBindings(t *testing.T) {
	bindings := func(bs ...*messages.Binding) func(in *Input) {
		return func(in *Input) {
			in.User.Bindings = bs
			for _, b := range bs {
				in.Devices[b.DeviceId] = device(offline, 1)
			}
		}
	}
	const call = `{"em_push_ext":{"type":"call"}}`
	runDecideCases(t, []decideCase{
		{name: "step9 voip skipped for a message",
			setup: bindings(bind("d2", "apns-prod", "T2"), bind("d2", "voip-1", "V2")),
			want:  "d2/apns-prod=push d2/voip-1=stop 9"},
		{name: "step9 call goes to voip, not apns of that device", ext: call,
			setup: bindings(bind("d2", "apns-prod", "T2"), bind("d2", "voip-1", "V2")),
			want:  "d2/apns-prod=stop 9 d2/voip-1=push"},
		{name: "step9 call keeps apns of a device without voip", ext: call,
			setup: bindings(bind("d2", "apns-prod", "T2"), bind("d3", "voip-1", "V3")),
			want:  "d2/apns-prod=push d3/voip-1=push"},
		{name: "step9 call is an ordinary push on fcm", ext: call, want: "d1/fcm-1=push"},
		{name: "step9 type other than call", ext: `{"em_push_ext":{"type":"Call"}}`,
			setup: bindings(bind("d2", "voip-1", "V2")), want: "d2/voip-1=stop 9"},

		{name: "step10 empty token", setup: bindings(bind("d1", "fcm-1", "")),
			want: "d1/fcm-1=stop 10 illegal binding"},
		{name: "step10 empty notifier name", setup: bindings(bind("d1", "", "T1")),
			want: "d1/=stop 10 illegal binding"},
		{name: "step10 before filter", ext: `{"em_push_filter":{"ignore_device_id":["d1"]}}`,
			setup: bindings(bind("d1", "fcm-1", "")),
			want:  "d1/fcm-1=stop 10 illegal binding"},

		{name: "step11 ignore device", ext: `{"em_push_filter":{"ignore_device_id":["d1"]}}`,
			want: "d1/fcm-1=stop 11 ignore push device id"},
		{name: "step11 ignore beats accept",
			ext:  `{"em_push_filter":{"accept_device_id":["d1"],"ignore_device_id":["d1"]}}`,
			want: "d1/fcm-1=stop 11 ignore push device id"},
		{name: "step11 empty accept list accepts all",
			ext: `{"em_push_filter":{"accept_device_id":[]}}`, want: "d1/fcm-1=push"},
		{name: "step11 device match is exact",
			ext:  `{"em_push_filter":{"accept_device_id":["D1"]}}`,
			want: "d1/fcm-1=stop 11 ignore push device id"},
		{name: "step11 accept notifier",
			ext:   `{"em_push_filter":{"accept_notifier_name":["apns-prod"]}}`,
			setup: bindings(bind("d1", "fcm-1", "T1"), bind("d2", "apns-prod", "T2")),
			want:  "d1/fcm-1=stop 11 ignore push device id d2/apns-prod=push"},
		{name: "step11 ignore notifier",
			ext:   `{"em_push_filter":{"ignore_notifier_name":["apns-prod"]}}`,
			setup: bindings(bind("d1", "fcm-1", "T1"), bind("d2", "apns-prod", "T2")),
			want:  "d1/fcm-1=push d2/apns-prod=stop 11 ignore push device id"},
		{name: "step11 filter of wrong type is absent", ext: `{"em_push_filter":["d2"]}`,
			want: "d1/fcm-1=push"},
		{name: "step11 list of wrong type is absent",
			ext: `{"em_push_filter":{"accept_device_id":"d2"}}`, want: "d1/fcm-1=push"},
		{name: "step11 non-string ids ignored",
			ext: `{"em_push_filter":{"ignore_device_id":[1,null,"d9"]}}`, want: "d1/fcm-1=push"},

		{name: "step12 unknown notifier", setup: bindings(bind("d1", "gone", "T1")),
			want: "d1/gone=stop 12 no notifier exist"},
		{name: "step12 before disabled", ext: `{"em_push_filter":{}}`,
			setup: bindings(bind("d1", "gone", "T1"), bind("d2", "off", "T2")),
			want:  "d1/gone=stop 12 no notifier exist d2/off=stop 13 notifier disabled"},
		{name: "step13 disabled notifier", setup: bindings(bind("d1", "off", "T1")),
			want: "d1/off=stop 13 notifier disabled"},
		{name: "a stop on one binding leaves the other",
			setup: bindings(bind("d1", "gone", "T1"), bind("d1", "fcm-1", "T1")),
			want:  "d1/gone=stop 12 no notifier exist d1/fcm-1=push"},
	})
}

func TestDecideNotifierReported(t *testing.T) {
	in := fixture(t, `{}`)
	in.User.Bindings = append(in.User.Bindings, bind("d1", "gone", "T9"))
	d := Decide(in)
	if got := d.Bindings[0].Notifier.GetName(); got != "fcm-1" {
		t.Errorf("Decide(fcm-1).Notifier = %q, want %q", got, "fcm-1")
	}
	if got := d.Bindings[1].Notifier; got != nil {
		t.Errorf("Decide(gone).Notifier = %v, want nil", got)
	}
}

func TestEligible(t *testing.T) {
	cases := []struct {
		chatType, bodyType, route string
		want                      bool
	}{
		{"chat", "txt", "", true},
		{"groupchat", "img", "", true},
		{"chatroom", "txt", "", false},
		{"chat", "cmd", "", false},
		{"chat", "txt", "online", false},
		{"chat", "txt", "offline", true},
	}
	for _, tc := range cases {
		m := &messages.PushMessage{ChatType: tc.chatType, Route: tc.route,
			Body: &messages.Body{Type: tc.bodyType}}
		if got := Eligible(m); got != tc.want {
			t.Errorf("Eligible(%s/%s/%q) = %v, want %v",
				tc.chatType, tc.bodyType, tc.route, got, tc.want)
		}
	}
	if Eligible(nil) {
		t.Errorf("Eligible(nil) = true, want false")
	}
}

func TestCountBadge(t *testing.T) {
	devices := map[string]*messages.DeviceState{
		"on":   device(online, 0),
		"off":  device(offline, 2),
		"kick": device(kicked, 5),
		"new":  device(0, 0),
		"nil":  nil,
	}
	CountBadge(devices)
	want := map[string]int64{"on": 0, "off": 3, "kick": 6, "new": 1}
	for id, n := range want {
		if got := devices[id].GetBadge(); got != n {
			t.Errorf("CountBadge: device %s = %d, want %d", id, got, n)
		}
	}
}

func TestDecideDoesNotMutate(t *testing.T) {
	in := fixture(t, `{"em_push_ext":{"custom":{"k":1}},"em_at_list":"all"}`)
	twoDevices(&in, kicked, offline)
	toGroup(&in)
	user, app := proto.Clone(in.User), proto.Clone(in.App)
	msg, d2 := proto.Clone(in.Message), proto.Clone(in.Devices["d2"])

	first := summary(t, Decide(in))
	second := summary(t, Decide(in))
	if first != second {
		t.Errorf("Decide() = %v, then %v, want the same", first, second)
	}
	if !proto.Equal(user, in.User) || !proto.Equal(app, in.App) ||
		!proto.Equal(msg, in.Message) || !proto.Equal(d2, in.Devices["d2"]) {
		t.Errorf("Decide() modified its input")
	}
}
