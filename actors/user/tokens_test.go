package user

import (
	"testing"

	"github.com/herald-im/herald/messages"
)

func tokenRecord() *messages.UserRecord {
	return &messages.UserRecord{Bindings: []*messages.Binding{
		{DeviceId: "d1", NotifierName: "fcm", DeviceToken: "T", Modified: 100},
		{DeviceId: "d1", NotifierName: "hms", DeviceToken: "T", Modified: 100},
		{DeviceId: "d2", NotifierName: "fcm", DeviceToken: "T", Modified: 300},
		{DeviceId: "d3", NotifierName: "fcm", DeviceToken: "U", Modified: 50},
	}}
}

// TestUserTokenDrops checks the binding changes of token ownership: a
// ReleaseToken drops only the pair's bindings older than its stamp, and a
// rebind drops the pair from the user's other devices.
func TestUserTokenDrops(t *testing.T) {
	rec := tokenRecord()
	if n := dropOlder(rec, pair{"fcm", "T"}, 300); n != 1 ||
		bindingsOf(rec) != "[d1 hms T][d2 fcm T][d3 fcm U]" {
		t.Fatalf("dropOlder = %d, %s", n, bindingsOf(rec))
	}
	rec = tokenRecord()
	if n := dropOlder(rec, pair{"fcm", "T"}, 50); n != 0 || len(rec.Bindings) != 4 {
		t.Fatalf("dropOlder before every binding = %d, %s", n, bindingsOf(rec))
	}

	rec = tokenRecord()
	if !dropOtherDevices(rec, "d2", pair{"fcm", "T"}) ||
		bindingsOf(rec) != "[d1 hms T][d2 fcm T][d3 fcm U]" {
		t.Fatalf("dropOtherDevices: %s", bindingsOf(rec))
	}
	if dropOtherDevices(rec, "d2", pair{"fcm", "T"}) {
		t.Fatal("dropOtherDevices reported a change the second time")
	}
}

// TestUserLostPairs: a pair is released only when no binding of the user
// still holds it.
func TestUserLostPairs(t *testing.T) {
	before := tokenRecord().Bindings
	after := before[1:] // d1 fcm T gone, but d2 still holds (fcm, T)
	if lost := lostPairs(before, after); len(lost) != 0 {
		t.Fatalf("lostPairs = %v, want none", lost)
	}
	after = []*messages.Binding{before[1], before[3]}
	lost := lostPairs(before, after)
	if len(lost) != 2 || lost[0].DeviceId != "d1" || lost[1].DeviceId != "d2" {
		t.Fatalf("lostPairs = %v, want both (fcm, T) bindings", lost)
	}
}

// TestUserHoldsOnly: a repeated bind skips the claim only when the
// device already has the pair and no other device does.
func TestUserHoldsOnly(t *testing.T) {
	g := &grain{rec: tokenRecord()}
	cases := []struct {
		device string
		p      pair
		want   bool
	}{
		{"d3", pair{"fcm", "U"}, true},
		{"d1", pair{"hms", "T"}, true},
		{"d1", pair{"fcm", "T"}, false}, // d2 has it too
		{"d9", pair{"fcm", "U"}, false},
		{"d3", pair{"fcm", "V"}, false},
	}
	for _, c := range cases {
		if got := g.holdsOnly(c.device, c.p); got != c.want {
			t.Errorf("holdsOnly(%s, %v) = %v, want %v", c.device, c.p, got, c.want)
		}
	}
}
