package push

import (
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones even where the host has no zoneinfo

	"github.com/herald-im/herald/messages"
)

// Notification modes (SPEC.md §5.1).
const (
	ModeAll     = "ALL"
	ModeAt      = "AT"
	ModeNone    = "NONE"
	ModeDefault = "DEFAULT"
)

// userIgnores is step 8 without the forced exception: DND first (§6.4),
// then the effective mode (§5.2).
func (in *Input) userIgnores() bool {
	return in.ignoreCause() != ""
}

// Causes of a step-8 stop, as the preview explains them.
const (
	CauseAppDuration  = "app ignoreDuration active"
	CauseConvDuration = "conversation ignoreDuration active"
	CauseInterval     = "app ignoreInterval active"
	CauseModeNone     = "notification mode NONE"
	CauseModeAt       = "notification mode AT and not mentioned"
)

// ignoreCause names what makes the recipient ignore the message, "" when
// nothing does.
func (in *Input) ignoreCause() string {
	appSetting := in.User.GetAppSetting()
	conv := in.conversationSetting()
	switch {
	case durationActive(appSetting, in.Now):
		return CauseAppDuration
	case durationActive(conv, in.Now):
		return CauseConvDuration
	case appSetting.GetHasInterval() && in.intervalActive(appSetting):
		return CauseInterval
	}
	mode := conv.GetType()
	if mode == "" || mode == ModeDefault {
		mode = appSetting.GetType()
	}
	switch {
	case mode == ModeNone:
		return CauseModeNone
	case mode == ModeAt && !in.Ext.mentions(in.Recipient):
		return CauseModeAt
	}
	return ""
}

// IgnoreCause explains a step-8 stop for in: DND or the mode, "" when
// neither rejects the message. in.Ext must be non-nil.
func IgnoreCause(in Input) string {
	in.Recipient = strings.ToLower(in.Recipient)
	return in.ignoreCause()
}

// conversationSetting returns the recipient's setting for the message's
// conversation: the peer for chat, the group for groupchat (§5.1).
func (in *Input) conversationSetting() *messages.NotificationSetting {
	convs := in.User.GetConversations()
	if len(convs) == 0 {
		return nil
	}
	m := in.Message
	if m.GetChatType() == "groupchat" {
		return convs["chatgroup:"+m.GetGroupId()]
	}
	return convs["user:"+strings.ToLower(m.GetFrom())]
}

// durationActive reports an ignoreDuration that has not expired (§6.3).
func durationActive(s *messages.NotificationSetting, now time.Time) bool {
	at := s.GetExpireAt()
	return at > 0 && now.UnixMilli() < at
}

// intervalActive reports whether the daily window of §6.1 covers the
// recipient's local time of day, in whole minutes.
func (in *Input) intervalActive(s *messages.NotificationSetting) bool {
	start, end := int(s.GetIntervalStart()), int(s.GetIntervalEnd())
	if start == 0 && end == 0 {
		return false
	}
	if start == end {
		return true
	}
	local := in.Now.In(in.location())
	t := local.Hour()*60 + local.Minute()
	if start < end {
		return start <= t && t < end
	}
	return t >= start || t < end
}

// location is the recipient's zone (§6.2): its own, else the app's, else
// Asia/Shanghai. A name that does not load falls through to the next.
func (in *Input) location() *time.Location {
	for _, name := range [...]string{
		in.User.GetTimezone(),
		in.App.GetConfig().GetDndTimezone(),
		defaultDNDTimezone,
	} {
		if loc := loadZone(name); loc != nil {
			return loc
		}
	}
	return time.UTC
}

// zones caches loaded zones: time.LoadLocation reads the zone database on
// every call. Only names that load are cached, so the cache holds at most
// the IANA database.
var zones sync.Map // name → *time.Location

func loadZone(name string) *time.Location {
	if name == "" {
		return nil
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zones.Store(name, loc)
	return loc
}

// mentions reports whether the message mentions user (§5.2).
func (x *Ext) mentions(user string) bool {
	if x.mentionAll {
		return true
	}
	for _, id := range x.mentionIDs {
		if id == user {
			return true
		}
	}
	return false
}
