package push

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-im/herald/messages"
)

// Settings of SPEC.md §5.3 and §6: parsing, validating and applying a
// partial update of one level, and the view answered for it. Both the REST
// layer and the user grain use these, so a change is judged alike on every
// entry point.

// Chat types of the settings path (SPEC.md §5.1).
const (
	ChatTypeUser  = "user"
	ChatTypeGroup = "chatgroup"
)

// MaxIgnoreDuration is the longest DND duration, in ms (§6.3).
const MaxIgnoreDuration = 604800000

// ErrInterval is returned for an ignoreInterval that is not H:M-H:M with
// hours 0-23 and minutes 0-59.
var ErrInterval = errors.New("interval is not H:M-H:M")

// ParseInterval reads a daily DND window "H:M-H:M" (one or two digits
// each) into minutes of the day (§6.1).
func ParseInterval(s string) (start, end int, err error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, ErrInterval
	}
	if start, ok = parseClock(from); !ok {
		return 0, 0, ErrInterval
	}
	if end, ok = parseClock(to); !ok {
		return 0, 0, ErrInterval
	}
	return start, end, nil
}

// parseClock reads "H:M" into minutes of the day.
func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, false
	}
	hour, ok1 := smallNumber(h)
	minute, ok2 := smallNumber(m)
	if !ok1 || !ok2 || hour > 23 || minute > 59 {
		return 0, false
	}
	return hour*60 + minute, true
}

// smallNumber reads one or two decimal digits.
func smallNumber(s string) (int, bool) {
	if len(s) < 1 || len(s) > 2 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// FormatInterval writes a window zero-padded, "HH:MM-HH:MM".
func FormatInterval(start, end int) string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", start/60, start%60, end/60, end%60)
}

// ConversationKey is the key of a conversation setting in
// UserRecord.conversations: user ids lower-cased, group ids as given.
func ConversationKey(chattype, key string) string {
	if chattype == ChatTypeUser {
		key = strings.ToLower(key)
	}
	return chattype + ":" + key
}

// IsAppLevel reports whether (chattype, key) addresses user's app level.
func IsAppLevel(user, chattype, key string) bool {
	return chattype == ChatTypeUser && strings.EqualFold(key, user)
}

// ValidateSettingChange checks every present field of a settings update
// for user (§5.3, §6.4) and returns the first invalid one.
func ValidateSettingChange(user string, m *messages.PutNotificationSetting) *messages.Error {
	if m == nil {
		return messages.InvalidField("body")
	}
	if m.Chattype != ChatTypeUser && m.Chattype != ChatTypeGroup {
		return messages.InvalidField("chattype")
	}
	if m.Key == "" || len(m.Key) > 256 || !validText(m.Key) {
		return messages.InvalidField("key")
	}
	appLevel := IsAppLevel(user, m.Chattype, m.Key)
	if m.HasType {
		switch strings.ToUpper(m.Type) {
		case ModeAll, ModeAt, ModeNone:
		case ModeDefault:
			if appLevel {
				return messages.InvalidField("type")
			}
		default:
			return messages.InvalidField("type")
		}
	}
	// At conversation level an interval is accepted but neither validated
	// nor stored (§5.3).
	if m.HasInterval && appLevel && m.Interval != "" {
		if _, _, err := ParseInterval(m.Interval); err != nil {
			return messages.InvalidField("ignoreInterval")
		}
	}
	if m.HasDuration && (m.Duration < 0 || m.Duration > MaxIgnoreDuration) {
		return messages.InvalidField("ignoreDuration")
	}
	return nil
}

func validText(s string) bool {
	return strings.ToValidUTF8(s, "\uFFFD") == s
}

// ApplySettingChange returns rec's setting for the level m addresses after
// applying m at now, without modifying rec; nil means the conversation has
// nothing of its own left. m must have passed ValidateSettingChange.
func ApplySettingChange(rec *messages.UserRecord, m *messages.PutNotificationSetting,
	now time.Time) *messages.NotificationSetting {
	appLevel := IsAppLevel(rec.GetUser(), m.Chattype, m.Key)
	old := rec.GetAppSetting()
	if !appLevel {
		old = rec.GetConversations()[ConversationKey(m.Chattype, m.Key)]
	}
	s := &messages.NotificationSetting{}
	if old != nil {
		s.Type, s.HasInterval = old.Type, old.HasInterval
		s.IntervalStart, s.IntervalEnd, s.ExpireAt = old.IntervalStart, old.IntervalEnd,
			old.ExpireAt
	}
	if m.HasType {
		s.Type = strings.ToUpper(m.Type)
		if s.Type == ModeDefault {
			s.Type = ""
		}
	}
	if m.HasInterval && appLevel {
		s.HasInterval, s.IntervalStart, s.IntervalEnd = false, 0, 0
		if start, end, err := ParseInterval(m.Interval); m.Interval != "" && err == nil {
			s.HasInterval = true
			s.IntervalStart, s.IntervalEnd = int32(start), int32(end)
		}
	}
	if m.HasDuration {
		s.ExpireAt = 0
		if m.Duration > 0 {
			s.ExpireAt = now.UnixMilli() + m.Duration
		}
	}
	if !appLevel && s.Type == "" && s.ExpireAt == 0 {
		return nil
	}
	return s
}

// SettingView is the answered state of one level (§5.3 table): defaults
// filled in, an expired duration read as 0.
func SettingView(chattype, key string, appLevel bool, s *messages.NotificationSetting,
	now time.Time) *messages.NotificationSettingView {
	v := &messages.NotificationSettingView{Chattype: chattype, Key: key, Type: s.GetType()}
	if durationActive(s, now) {
		v.IgnoreDuration = s.GetExpireAt()
	}
	if appLevel {
		if v.Type == "" {
			v.Type = ModeAll
		}
		if s.GetHasInterval() {
			v.IgnoreInterval = FormatInterval(int(s.GetIntervalStart()),
				int(s.GetIntervalEnd()))
		}
		v.Own = true
		return v
	}
	v.Own = v.Type != "" || v.IgnoreDuration != 0
	if v.Type == "" {
		v.Type = ModeDefault
	}
	return v
}
