package token

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
)

func owned(user, device string, stamp int64, stale ...string) *messages.TokenOwner {
	return &messages.TokenOwner{NotifierName: "fcm", DeviceToken: "T", User: user,
		DeviceId: device, Stamp: stamp, Stale: stale}
}

func claimBy(user, device string) *messages.TokenClaim {
	return &messages.TokenClaim{NotifierName: "fcm", DeviceToken: "T", User: user,
		DeviceId: device}
}

// TestTokenClaim walks the claim rule: new owner, previous owner to the
// stale list, strictly increasing stamps, no write for a repeat.
func TestTokenClaim(t *testing.T) {
	cases := []struct {
		name  string
		cur   *messages.TokenOwner
		claim *messages.TokenClaim
		now   int64
		write bool
		want  *messages.TokenOwner
	}{
		{"first claim", nil, claimBy("b", "d1"), 100, true, owned("b", "d1", 100)},
		{"other user: previous owner goes stale", owned("a", "x", 100), claimBy("b", "d1"),
			200, true, owned("b", "d1", 200, "a")},
		{"clock went back: stamp still grows", owned("a", "x", 500), claimBy("b", "d1"),
			200, true, owned("b", "d1", 501, "a")},
		{"same user, other device: nobody goes stale", owned("b", "d1", 100),
			claimBy("b", "d2"), 200, true, owned("b", "d2", 200)},
		{"repeat by owner: no write, same stamp", owned("b", "d1", 100, "a"),
			claimBy("b", "d1"), 900, false, owned("b", "d1", 100, "a")},
		{"stale user claims back: leaves the list", owned("b", "d1", 100, "a", "c"),
			claimBy("a", "x"), 200, true, owned("a", "x", 200, "c", "b")},
		{"released pair: nobody goes stale", owned("", "", 100, "c"), claimBy("b", "d1"),
			150, true, owned("b", "d1", 150, "c")},
		{"stale listed once", owned("a", "x", 100, "a"), claimBy("b", "d1"), 150, true,
			owned("b", "d1", 150, "a")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before *messages.TokenOwner
			if c.cur != nil {
				before = proto.Clone(c.cur).(*messages.TokenOwner)
			}
			next, write := claim(c.cur, c.claim, c.now)
			if write != c.write || !proto.Equal(next, c.want) {
				t.Fatalf("claim = %v, %v; want %v, %v", next, write, c.want, c.write)
			}
			if !proto.Equal(c.cur, before) {
				t.Fatalf("claim changed its input to %v", c.cur)
			}
		})
	}
}

// TestTokenRelease: only the owner, and only for a binding not older
// than its claim, clears the owner; the stamp and stale list stay.
func TestTokenRelease(t *testing.T) {
	rel := func(user string, stamp int64) *messages.TokenRelease {
		return &messages.TokenRelease{NotifierName: "fcm", DeviceToken: "T", User: user,
			Stamp: stamp}
	}
	cases := []struct {
		name  string
		cur   *messages.TokenOwner
		r     *messages.TokenRelease
		write bool
		want  *messages.TokenOwner
	}{
		{"owner releases", owned("b", "d1", 100, "a"), rel("b", 100), true,
			owned("", "", 100, "a")},
		{"never claimed", nil, rel("b", 100), false, nil},
		{"other user", owned("b", "d1", 100), rel("a", 100), false, owned("b", "d1", 100)},
		{"older binding after a newer claim", owned("b", "d2", 200), rel("b", 100), false,
			owned("b", "d2", 200)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next, write := release(c.cur, c.r)
			if write != c.write || !proto.Equal(next, c.want) {
				t.Fatalf("release = %v, %v; want %v, %v", next, write, c.want, c.write)
			}
		})
	}
}

// TestTokenSettle: the users a claim released leave the stale list only
// while that claim is the current one.
func TestTokenSettle(t *testing.T) {
	set := func(user string, stamp int64, users ...string) *messages.TokenSettle {
		return &messages.TokenSettle{NotifierName: "fcm", DeviceToken: "T", User: user,
			Stamp: stamp, Users: users}
	}
	cases := []struct {
		name  string
		cur   *messages.TokenOwner
		s     *messages.TokenSettle
		write bool
		want  *messages.TokenOwner
	}{
		{"current claim", owned("b", "d1", 100, "a", "c"), set("b", 100, "a"), true,
			owned("b", "d1", 100, "c")},
		{"superseded claim", owned("c", "d1", 200, "a", "b"), set("b", 100, "a"), false,
			owned("c", "d1", 200, "a", "b")},
		{"nothing to remove", owned("b", "d1", 100, "c"), set("b", 100, "a"), false,
			owned("b", "d1", 100, "c")},
		{"never claimed", nil, set("b", 100, "a"), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next, write := settle(c.cur, c.s)
			if write != c.write || !proto.Equal(next, c.want) {
				t.Fatalf("settle = %v, %v; want %v, %v", next, write, c.want, c.write)
			}
		})
	}
}

// TestTokenValidate checks that bad requests name their field.
func TestTokenValidate(t *testing.T) {
	long := strings.Repeat("x", messages.MaxDeviceTokenBytes+1)
	cases := []struct {
		name  string
		err   *messages.Error
		field string
	}{
		{"claim ok", validateClaim(claimBy("b", "d")), ""},
		{"no notifier", validateClaim(&messages.TokenClaim{DeviceToken: "T", User: "b",
			DeviceId: "d"}), "notifier_name"},
		{"long notifier", validPair(strings.Repeat("n", 129), "T"), "notifier_name"},
		{"no token", validateClaim(&messages.TokenClaim{NotifierName: "f", User: "b",
			DeviceId: "d"}), "device_token"},
		{"long token", validPair("f", long), "device_token"},
		{"bad utf-8 token", validPair("f", "\xff"), "device_token"},
		{"no user", validateClaim(&messages.TokenClaim{NotifierName: "f", DeviceToken: "T",
			DeviceId: "d"}), "user"},
		{"no device", validateClaim(&messages.TokenClaim{NotifierName: "f",
			DeviceToken: "T", User: "b"}), "device_id"},
		{"release without stamp", validateRelease(&messages.TokenRelease{NotifierName: "f",
			DeviceToken: "T", User: "b"}), "stamp"},
		{"settle without user", validateSettle(&messages.TokenSettle{NotifierName: "f",
			DeviceToken: "T", Stamp: 1}), "user"},
	}
	for _, c := range cases {
		if c.err.GetField() != c.field {
			t.Errorf("%s: error %v, want field %q", c.name, c.err, c.field)
		}
		if c.field != "" && c.err.GetCode() != messages.CodeIllegalArgument {
			t.Errorf("%s: code %q, want illegal_argument", c.name, c.err.GetCode())
		}
	}
}
