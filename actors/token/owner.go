package token

import (
	"slices"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
)

// The pure rules of the token register. Each takes the current value (nil
// when the pair was never claimed) and answers the next one and whether it
// must be written; none changes its input.

// claim makes c's user and device the owner. A claim by the current owner
// from the same device changes nothing, so a repeated PUT costs no write.
// now is the wall clock in ms; the stamp is above every earlier stamp of
// the pair even if the clock went back.
func claim(cur *messages.TokenOwner, c *messages.TokenClaim, now int64) (
	*messages.TokenOwner, bool) {

	if cur != nil && cur.User == c.User && cur.DeviceId == c.DeviceId {
		return cur, false
	}
	next := &messages.TokenOwner{NotifierName: c.NotifierName, DeviceToken: c.DeviceToken}
	if cur != nil {
		next = proto.Clone(cur).(*messages.TokenOwner)
		if cur.User != "" && cur.User != c.User && !slices.Contains(next.Stale, cur.User) {
			next.Stale = append(next.Stale, cur.User)
		}
	}
	next.Stale = slices.DeleteFunc(next.Stale, func(u string) bool { return u == c.User })
	next.User, next.DeviceId = c.User, c.DeviceId
	next.Stamp = max(now, next.Stamp+1)
	return next, true
}

// release clears the owner if r's user still owns the pair under a stamp
// no newer than r's (the dropped binding's). The stamp and the stale list
// stay: later claims must still be ordered after this one.
func release(cur *messages.TokenOwner, r *messages.TokenRelease) (*messages.TokenOwner, bool) {
	if cur == nil || cur.User != r.User || cur.Stamp > r.Stamp {
		return cur, false
	}
	next := proto.Clone(cur).(*messages.TokenOwner)
	next.User, next.DeviceId = "", ""
	return next, true
}

// settle removes s's users from the stale list if s's claim is still the
// current one: only then are they known to hold nothing older than it.
func settle(cur *messages.TokenOwner, s *messages.TokenSettle) (*messages.TokenOwner, bool) {
	if cur == nil || cur.User != s.User || cur.Stamp != s.Stamp {
		return cur, false
	}
	stale := slices.DeleteFunc(slices.Clone(cur.Stale), func(u string) bool {
		return slices.Contains(s.Users, u)
	})
	if len(stale) == len(cur.Stale) {
		return cur, false
	}
	next := proto.Clone(cur).(*messages.TokenOwner)
	next.Stale = stale
	return next, true
}

// validPair checks the pair every token message names; the error names
// the offending field.
func validPair(notifier, token string) *messages.Error {
	if notifier == "" || !utf8.ValidString(notifier) ||
		utf8.RuneCountInString(notifier) > messages.MaxNotifierNameChars {
		return messages.InvalidField("notifier_name")
	}
	if token == "" || len(token) > messages.MaxDeviceTokenBytes || !utf8.ValidString(token) {
		return messages.InvalidField("device_token")
	}
	return nil
}

func validateClaim(c *messages.TokenClaim) *messages.Error {
	if e := validPair(c.NotifierName, c.DeviceToken); e != nil {
		return e
	}
	if c.User == "" {
		return messages.InvalidField("user")
	}
	if c.DeviceId == "" {
		return messages.InvalidField("device_id")
	}
	return nil
}

func validateRelease(r *messages.TokenRelease) *messages.Error {
	if e := validPair(r.NotifierName, r.DeviceToken); e != nil {
		return e
	}
	if r.User == "" {
		return messages.InvalidField("user")
	}
	if r.Stamp <= 0 {
		return messages.InvalidField("stamp")
	}
	return nil
}

func validateSettle(s *messages.TokenSettle) *messages.Error {
	if e := validPair(s.NotifierName, s.DeviceToken); e != nil {
		return e
	}
	if s.User == "" {
		return messages.InvalidField("user")
	}
	if s.Stamp <= 0 {
		return messages.InvalidField("stamp")
	}
	return nil
}
