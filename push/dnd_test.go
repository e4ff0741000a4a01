package push

import (
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
)

// at moves the fixture's clock to hh:mm on 2024-04-01 in zone.
func at(hh, mm int, zone *time.Location) func(in *Input) {
	return func(in *Input) {
		in.Now = time.Date(2024, 4, 1, hh, mm, 0, 0, zone)
		in.Message.Timestamp = in.Now.UnixMilli()
	}
}

// window sets bob's app-level DND interval to start-end (minutes of the day).
func window(start, end int32) func(in *Input) {
	return func(in *Input) {
		s := appSetting(in)
		s.HasInterval, s.IntervalStart, s.IntervalEnd = true, start, end
	}
}

func appSetting(in *Input) *messages.NotificationSetting {
	if in.User.AppSetting == nil {
		in.User.AppSetting = &messages.NotificationSetting{}
	}
	return in.User.AppSetting
}

func conversation(key string, s *messages.NotificationSetting) func(in *Input) {
	return func(in *Input) {
		if in.User.Conversations == nil {
			in.User.Conversations = map[string]*messages.NotificationSetting{}
		}
		in.User.Conversations[key] = s
	}
}

func appMode(mode string) func(in *Input) {
	return func(in *Input) { appSetting(in).Type = mode }
}

func all(fs ...func(in *Input)) func(in *Input) {
	return func(in *Input) {
		for _, f := range fs {
			f(in)
		}
	}
}

func hm(h, m int32) int32 { return h*60 + m }

const (
	pushD1  = "d1/fcm-1=push"
	ignored = "stop 8 user ignore push"
	forced  = `{"em_force_notification":"YES"}`
)

func TestDecideDNDInterval(t *testing.T) {
	berlin := mustZone("Europe/Berlin")
	night := window(hm(22, 0), hm(7, 0))
	morning := window(hm(8, 0), hm(10, 0))
	runDecideCases(t, []decideCase{
		{name: "D01 23:10 inside 22:00-07:00", setup: all(night, at(23, 10, shanghai)),
			want: ignored},
		{name: "wrap start inclusive", setup: all(night, at(22, 0, shanghai)), want: ignored},
		{name: "wrap before start", setup: all(night, at(21, 59, shanghai)), want: pushD1},
		{name: "wrap after midnight", setup: all(night, at(6, 59, shanghai)), want: ignored},
		{name: "wrap end exclusive", setup: all(night, at(7, 0, shanghai)), want: pushD1},
		{name: "window start inclusive", setup: all(morning, at(8, 0, shanghai)),
			want: ignored},
		{name: "window end exclusive", setup: all(morning, at(10, 0, shanghai)),
			want: pushD1},
		{name: "window before start", setup: all(morning, at(7, 59, shanghai)),
			want: pushD1},
		{name: "seconds dropped", setup: all(window(hm(15, 0), hm(15, 1)),
			func(in *Input) { in.Now = in.Now.Add(59*time.Second + 999*time.Millisecond) }),
			want: ignored},
		{name: "D06 s = e is all day", setup: window(hm(9, 0), hm(9, 0)), want: ignored},
		{name: "00:00-00:00 is off", setup: all(window(0, 0), at(0, 0, shanghai)),
			want: pushD1},
		{name: "no interval", setup: appMode(ModeAll), want: pushD1},

		{name: "user zone Berlin 09:00 inside",
			setup: all(morning, func(in *Input) { in.User.Timezone = "Europe/Berlin" }),
			want:  ignored},
		{name: "app zone when user has none", setup: all(morning, at(9, 0, berlin),
			func(in *Input) { in.App.Config.DndTimezone = "Europe/Berlin" }),
			want: ignored},
		{name: "default zone is Shanghai", setup: all(morning, at(9, 0, shanghai),
			func(in *Input) { in.App.Config.DndTimezone = "" }),
			want: ignored},
		{name: "unknown user zone falls back to the app's",
			setup: all(morning, func(in *Input) { in.User.Timezone = "Mars/Base" }),
			want:  pushD1},
		{name: "DST: 13:00 CET before the switch", setup: all(window(hm(13, 0), hm(14, 0)),
			func(in *Input) {
				in.User.Timezone = "Europe/Berlin"
				in.Now = time.Date(2024, 3, 30, 12, 0, 0, 0, time.UTC)
				in.Message.Timestamp = in.Now.UnixMilli()
			}),
			want: ignored},
		{name: "DST: 14:00 CEST after the switch", setup: all(window(hm(13, 0), hm(14, 0)),
			func(in *Input) {
				in.User.Timezone = "Europe/Berlin"
				in.Now = time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC)
				in.Message.Timestamp = in.Now.UnixMilli()
			}),
			want: pushD1},
	})
}

func TestDecideDNDDuration(t *testing.T) {
	// D11: at 08:00 bob set ignoreDuration 14400000, so it ends at 12:00.
	d11 := func(in *Input) {
		appSetting(in).ExpireAt = time.Date(2024, 4, 1, 12, 0, 0, 0, shanghai).UnixMilli()
	}
	g1Muted := conversation("chatgroup:g1", &messages.NotificationSetting{
		ExpireAt: fixtureNow.UnixMilli() + 1})
	runDecideCases(t, []decideCase{
		{name: "D11 11:59 muted", setup: all(d11, at(11, 59, shanghai)), want: ignored},
		{name: "D11 one ms before the end", setup: all(d11, at(12, 0, shanghai),
			func(in *Input) { in.Now = in.Now.Add(-time.Millisecond) }), want: ignored},
		{name: "D11 12:00 pushed", setup: all(d11, at(12, 0, shanghai)), want: pushD1},
		{name: "conversation duration mutes its group", setup: all(toGroup, g1Muted),
			want: ignored},
		{name: "conversation duration leaves other chats", setup: g1Muted, want: pushD1},
		{name: "conversation duration of the peer",
			setup: conversation("user:alice", &messages.NotificationSetting{
				ExpireAt: fixtureNow.UnixMilli() + 1}),
			want: ignored},
		{name: "D17 conversation ALL under app DND",
			setup: all(toGroup, window(0, hm(23, 59)),
				conversation("chatgroup:g1", &messages.NotificationSetting{Type: ModeAll})),
			want: ignored},
		{name: "D18 conversation interval is never applied",
			setup: all(toGroup, at(9, 0, shanghai),
				conversation("chatgroup:g1", &messages.NotificationSetting{
					HasInterval: true, IntervalStart: hm(8, 0), IntervalEnd: hm(10, 0)})),
			want: pushD1},

		{name: "E04 forced through app interval", ext: forced,
			setup: window(hm(9, 0), hm(9, 0)), want: pushD1},
		{name: "forced through app duration", ext: `{"em_force_notification":true}`,
			setup: d11, want: pushD1},
		{name: "forced through conversation duration", ext: forced,
			setup: all(toGroup, g1Muted), want: pushD1},
		{name: "forced is no flag when yes", ext: `{"em_force_notification":"yes"}`,
			setup: window(hm(9, 0), hm(9, 0)), want: ignored},
		{name: "forced keeps the filter", ext: `{"em_force_notification":true,` +
			`"em_push_filter":{"ignore_device_id":["d1"]}}`,
			setup: window(hm(9, 0), hm(9, 0)), want: "d1/fcm-1=stop 11 ignore push device id"},
		{name: "forced keeps the kicked rule", ext: forced,
			setup: func(in *Input) { in.Devices["d1"].State = kicked }, want: "stop 7"},
	})
}

func TestDecideModes(t *testing.T) {
	groupNone := conversation("chatgroup:g1", &messages.NotificationSetting{Type: ModeNone})
	runDecideCases(t, []decideCase{
		{name: "app unset is ALL", want: pushD1},
		{name: "app ALL", setup: appMode(ModeAll), want: pushD1},
		{name: "app NONE", setup: appMode(ModeNone), want: ignored},
		{name: "app AT without mention", setup: all(toGroup, appMode(ModeAt)), want: ignored},
		{name: "C04 app AT mention is case-insensitive", ext: `{"em_at_list":["BOB"]}`,
			setup: all(toGroup, appMode(ModeAt)), want: pushD1},
		{name: "C05 app AT mention ALL", ext: `{"em_at_list":"ALL"}`,
			setup: all(toGroup, appMode(ModeAt)), want: pushD1},
		{name: "app AT mention of someone else", ext: `{"em_at_list":["carol"]}`,
			setup: all(toGroup, appMode(ModeAt)), want: ignored},
		{name: "app AT string mention", ext: `{"em_at_list":"Bob"}`,
			setup: all(toGroup, appMode(ModeAt)), want: pushD1},
		{name: "app AT legacy mention list", ext: `{"em_apns_ext":{"em_at_list":["bob"]}}`,
			setup: all(toGroup, appMode(ModeAt)), want: pushD1},
		{name: "app AT in a one-to-one chat", ext: `{"em_at_list":["bob"]}`,
			setup: appMode(ModeAt), want: pushD1},
		{name: "C08 group NONE mutes the group", setup: all(toGroup, groupNone),
			want: ignored},
		{name: "C08 group NONE leaves chats", setup: groupNone, want: pushD1},
		{name: "group ids are case-sensitive",
			setup: all(toGroup, conversation("chatgroup:G1",
				&messages.NotificationSetting{Type: ModeNone})),
			want: pushD1},
		{name: "peer NONE with a mixed-case sender",
			setup: all(func(in *Input) { in.Message.From = "Alice" },
				conversation("user:alice", &messages.NotificationSetting{Type: ModeNone})),
			want: ignored},
		{name: "conversation ALL beats app NONE",
			setup: all(appMode(ModeNone),
				conversation("user:alice", &messages.NotificationSetting{Type: ModeAll})),
			want: pushD1},
		{name: "conversation DEFAULT inherits app NONE",
			setup: all(appMode(ModeNone),
				conversation("user:alice", &messages.NotificationSetting{Type: ModeDefault})),
			want: ignored},
		{name: "conversation AT with mention", ext: `{"em_at_list":"all"}`,
			setup: all(toGroup, conversation("chatgroup:g1",
				&messages.NotificationSetting{Type: ModeAt})),
			want: pushD1},
		{name: "forced through NONE", ext: forced, setup: appMode(ModeNone), want: pushD1},
		{name: "forced through AT", ext: forced, setup: all(toGroup, appMode(ModeAt)),
			want: pushD1},
		{name: "DND beats a mention", ext: `{"em_at_list":"all"}`,
			setup: all(toGroup, appMode(ModeAt), window(hm(9, 0), hm(9, 0))), want: ignored},
	})
}
