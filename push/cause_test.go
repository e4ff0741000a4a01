package push

import (
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
)

// TestIgnoreCause: the preview's explanation of a step-8 stop names the
// rule that stopped the message, DND before mode (§6.4).
func TestIgnoreCause(t *testing.T) {
	now := fixtureNow.UnixMilli()
	tests := []struct {
		name  string
		ext   string
		user  func(*messages.UserRecord)
		group bool
		want  string
	}{
		{"nothing", `{}`, func(*messages.UserRecord) {}, false, ""},
		{"app duration beats mode", `{}`, func(u *messages.UserRecord) {
			u.AppSetting = &messages.NotificationSetting{Type: ModeNone, ExpireAt: now + 1}
		}, false, CauseAppDuration},
		{"expired duration", `{}`, func(u *messages.UserRecord) {
			u.AppSetting = &messages.NotificationSetting{ExpireAt: now}
		}, false, ""},
		{"conversation duration", `{}`, func(u *messages.UserRecord) {
			u.Conversations = map[string]*messages.NotificationSetting{
				"chatgroup:g1": {ExpireAt: now + 1}}
		}, true, CauseConvDuration},
		{"interval", `{}`, func(u *messages.UserRecord) {
			u.AppSetting = &messages.NotificationSetting{HasInterval: true,
				IntervalStart: 14 * 60, IntervalEnd: 16 * 60}
		}, false, CauseInterval},
		{"mode NONE", `{}`, func(u *messages.UserRecord) {
			u.AppSetting = &messages.NotificationSetting{Type: ModeNone}
		}, false, CauseModeNone},
		{"mode AT unmentioned", `{"em_at_list":["carol"]}`, func(u *messages.UserRecord) {
			u.AppSetting = &messages.NotificationSetting{Type: ModeAt}
		}, true, CauseModeAt},
		{"mode AT mentioned", `{"em_at_list":["BOB"]}`, func(u *messages.UserRecord) {
			u.AppSetting = &messages.NotificationSetting{Type: ModeAt}
		}, true, ""},
		{"conversation ALL beats app NONE", `{}`, func(u *messages.UserRecord) {
			u.AppSetting = &messages.NotificationSetting{Type: ModeNone}
			u.Conversations = map[string]*messages.NotificationSetting{
				"user:alice": {Type: ModeAll}}
		}, false, ""},
	}
	for _, tc := range tests {
		in := fixture(t, tc.ext)
		if tc.group {
			toGroup(&in)
		}
		tc.user(in.User)
		got := IgnoreCause(in)
		if got != tc.want {
			t.Errorf("%s: IgnoreCause = %q, want %q", tc.name, got, tc.want)
		}
		// The cause and the decision agree.
		stopped := Decide(in).Stop
		if (got != "") != (stopped != nil && stopped.Step == 8) {
			t.Errorf("%s: cause %q but decision %+v", tc.name, got, stopped)
		}
	}
}

// TestIntervalAcrossDaylightSaving: the window is read on the local clock
// of the user's zone on both sides of America/New_York's changes.
func TestIntervalAcrossDaylightSaving(t *testing.T) {
	tests := []struct {
		utc    string
		window [2]int32
		want   bool
	}{
		// 2024-03-10: 02:00 EST jumps to 03:00 EDT.
		{"2024-03-10T06:45:00Z", [2]int32{90, 180}, true},   // 01:45 EST
		{"2024-03-10T07:30:00Z", [2]int32{90, 180}, false},  // 03:30 EDT
		{"2024-03-10T06:59:00Z", [2]int32{0, 7 * 60}, true}, // 01:59 EST
		// 2024-11-03: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
		{"2024-11-03T05:30:00Z", [2]int32{60, 120}, true},  // 01:30 EDT
		{"2024-11-03T06:30:00Z", [2]int32{60, 120}, true},  // 01:30 EST
		{"2024-11-03T07:00:00Z", [2]int32{60, 120}, false}, // 02:00 EST
	}
	for _, tc := range tests {
		in := fixture(t, `{}`)
		at, err := time.Parse(time.RFC3339, tc.utc)
		if err != nil {
			t.Fatal(err)
		}
		in.Now = at
		in.Message.Timestamp = at.UnixMilli()
		in.User.Timezone = "America/New_York"
		in.User.AppSetting = &messages.NotificationSetting{HasInterval: true,
			IntervalStart: tc.window[0], IntervalEnd: tc.window[1]}
		if got := IgnoreCause(in) == CauseInterval; got != tc.want {
			t.Errorf("%s window %v: active = %v, want %v", tc.utc, tc.window, got, tc.want)
		}
	}
}
