package push

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
)

// The fixture of SPEC.md §13: app org1#app1 with defaults, notifiers
// apns-prod (apns) and fcm-1 (fcm), sender alice, recipient bob whose
// device d1 is bound to fcm-1/T1 and offline with one counted message.

var shanghai = mustZone("Asia/Shanghai")

// fixtureNow is 2024-04-01 15:00 in Asia/Shanghai.
var fixtureNow = time.Date(2024, 4, 1, 15, 0, 0, 0, shanghai)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func fixtureApp() *messages.AppRecord {
	return &messages.AppRecord{
		Org:    "org1",
		Name:   "app1",
		Config: DefaultPushConfig(),
		Notifiers: map[string]*messages.Notifier{
			"apns-prod": {Name: "apns-prod", Provider: ProviderAPNs, Enabled: true},
			"fcm-1":     {Name: "fcm-1", Provider: "fcm", Enabled: true},
			"voip-1":    {Name: "voip-1", Provider: ProviderAPNsVoIP, Enabled: true},
			"off":       {Name: "off", Provider: "fcm", Enabled: false},
		},
		Templates: BuiltinTemplates(1),
	}
}

func bind(device, notifier, token string) *messages.Binding {
	return &messages.Binding{DeviceId: device, NotifierName: notifier, DeviceToken: token}
}

func device(state messages.PresenceState, badge int64) *messages.DeviceState {
	return &messages.DeviceState{State: state, Badge: badge}
}

const (
	online  = messages.PresenceState_PRESENCE_ONLINE
	offline = messages.PresenceState_PRESENCE_OFFLINE
	kicked  = messages.PresenceState_PRESENCE_KICKED
)

// fixture returns the input for "alice sends txt hi to bob", with ext
// parsed from extJSON.
func fixture(t testing.TB, extJSON string) Input {
	t.Helper()
	m := &messages.PushMessage{
		AppKey:    "org1#app1",
		MsgId:     "m1",
		From:      "alice",
		ChatType:  "chat",
		To:        []string{"bob"},
		Body:      &messages.Body{Type: "txt", Text: "hi"},
		Ext:       []byte(extJSON),
		Timestamp: fixtureNow.UnixMilli() - 1000,
	}
	ext, err := ParseExt(m.Ext)
	if err != nil {
		t.Fatalf("ParseExt(%s) = %v", extJSON, err)
	}
	return Input{
		Message:   m,
		Ext:       ext,
		Recipient: "bob",
		User: &messages.UserRecord{
			User:     "bob",
			Bindings: []*messages.Binding{bind("d1", "fcm-1", "T1")},
		},
		Devices:           map[string]*messages.DeviceState{"d1": device(offline, 1)},
		App:               fixtureApp(),
		SenderDisplayName: "alice",
		Now:               fixtureNow,
	}
}

// toGroup turns the fixture message into alice → g1.
func toGroup(in *Input) {
	in.Message.ChatType = "groupchat"
	in.Message.GroupId = "g1"
	in.Message.To = nil
	in.Message.Members = []string{"bob", "carol"}
}

// twoDevices gives bob d1 (fcm-1/T1) and d2 (apns-prod/T2) in the given states.
func twoDevices(in *Input, s1, s2 messages.PresenceState) {
	in.User.Bindings = []*messages.Binding{bind("d1", "fcm-1", "T1"), bind("d2", "apns-prod", "T2")}
	in.Devices = map[string]*messages.DeviceState{"d1": device(s1, 1), "d2": device(s2, 1)}
}

// summary renders a decision as "stop N reason" for a recipient-level stop,
// else one "device/notifier=outcome" per binding.
func summary(t testing.TB, d Decision) string {
	t.Helper()
	if d.Stop != nil {
		if d.Bindings != nil {
			t.Errorf("recipient stop %v came with bindings %v", *d.Stop, d.Bindings)
		}
		return stopText(d.Stop)
	}
	parts := make([]string, 0, len(d.Bindings))
	for _, b := range d.Bindings {
		out := "push"
		if b.Stop != nil {
			out = stopText(b.Stop)
			if b.Notification != nil {
				t.Errorf("stopped binding %s carries a notification", b.Binding.DeviceId)
			}
		} else if b.Notification == nil {
			t.Errorf("binding %s passed without a notification", b.Binding.DeviceId)
		}
		parts = append(parts, b.Binding.DeviceId+"/"+b.Binding.NotifierName+"="+out)
	}
	return strings.Join(parts, " ")
}

func stopText(s *Stop) string {
	if s.Reason == "" {
		return fmt.Sprintf("stop %d", s.Step)
	}
	return fmt.Sprintf("stop %d %s", s.Step, s.Reason)
}

// pushed returns the notification of the binding of device, failing the
// test when that binding was not pushed.
func pushed(t testing.TB, d Decision, deviceID string) *messages.Notification {
	t.Helper()
	for _, b := range d.Bindings {
		if b.Binding.DeviceId == deviceID && b.Notification != nil {
			return b.Notification
		}
	}
	t.Fatalf("Decide() = %s, want a push to %s", summary(t, d), deviceID)
	return nil
}
