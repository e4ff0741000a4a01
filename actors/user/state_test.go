package user

import (
	"fmt"
	"testing"

	"github.com/herald-im/herald/messages"
)

func bindingsOf(rec *messages.UserRecord) string {
	s := ""
	for _, b := range rec.Bindings {
		s += fmt.Sprintf("[%s %s %s]", b.DeviceId, b.NotifierName, b.DeviceToken)
	}
	return s
}

// TestUserApplyBinding walks the binding table of SPEC.md §4.
func TestUserApplyBinding(t *testing.T) {
	start := func() *messages.UserRecord {
		return &messages.UserRecord{Bindings: []*messages.Binding{
			{DeviceId: "d1", NotifierName: "apns-prod", DeviceToken: "T3"},
			{DeviceId: "d1", NotifierName: "fcm-1", DeviceToken: "T1"},
			{DeviceId: "d2", NotifierName: "fcm-1", DeviceToken: "T2"},
		}}
	}
	cases := []struct {
		name    string
		put     *messages.PutBinding
		changed bool
		want    string
	}{
		{"upsert new keeps order", &messages.PutBinding{DeviceId: "d0", DeviceToken: "T0",
			NotifierName: "x"}, true, "[d0 x T0][d1 apns-prod T3][d1 fcm-1 T1][d2 fcm-1 T2]"},
		{"upsert same token is no change", &messages.PutBinding{DeviceId: "d1",
			DeviceToken: "T1", NotifierName: "fcm-1"}, false,
			"[d1 apns-prod T3][d1 fcm-1 T1][d2 fcm-1 T2]"},
		{"upsert replaces token", &messages.PutBinding{DeviceId: "d1", DeviceToken: "T9",
			NotifierName: "fcm-1"}, true, "[d1 apns-prod T3][d1 fcm-1 T9][d2 fcm-1 T2]"},
		{"B04 empty token deletes one", &messages.PutBinding{DeviceId: "d1",
			NotifierName: "fcm-1"}, true, "[d1 apns-prod T3][d2 fcm-1 T2]"},
		{"B05 empty notifier deletes the device", &messages.PutBinding{DeviceId: "d1",
			DeviceToken: "anything"}, true, "[d2 fcm-1 T2]"},
		{"deleting an absent binding is no change", &messages.PutBinding{DeviceId: "d9",
			NotifierName: "fcm-1"}, false, "[d1 apns-prod T3][d1 fcm-1 T1][d2 fcm-1 T2]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := start()
			changed := applyBinding(rec, c.put, 42)
			if changed != c.changed || bindingsOf(rec) != c.want {
				t.Fatalf("applyBinding(%v) = %v %s, want %v %s", c.put, changed,
					bindingsOf(rec), c.changed, c.want)
			}
		})
	}
}

// TestUserRemember checks the dedup memory: ids are kept for 24 hours and
// at most RecentLimit of them, oldest forgotten first.
func TestUserRemember(t *testing.T) {
	g := &grain{
		deps:   Deps{RecentLimit: 3},
		soft:   &messages.UserSoftState{},
		recent: map[string]int64{},
	}
	day := dedupWindow.Milliseconds()

	g.remember("a", 1000)
	g.remember("b", 2000)
	g.remember("c", 3000)
	g.remember("d", 4000) // over the limit: "a" goes
	if _, ok := g.recent["a"]; ok || len(g.recent) != 3 || len(g.soft.Recent) != 3 {
		t.Fatalf("after 4 ids with limit 3: recent %v, list %d, want a forgotten",
			g.recent, len(g.soft.Recent))
	}

	// One millisecond inside the window keeps "b"; past it, "b" goes.
	g.remember("e", 2000+day)
	if _, ok := g.recent["b"]; ok {
		t.Fatalf("b kept past the limit")
	}
	g2 := &grain{deps: Deps{RecentLimit: 100}, soft: &messages.UserSoftState{},
		recent: map[string]int64{}}
	g2.remember("x", 1000)
	g2.remember("y", 1000+day)
	if _, ok := g2.recent["x"]; !ok {
		t.Fatalf("x forgotten exactly at the window edge")
	}
	g2.remember("z", 1001+day)
	if _, ok := g2.recent["x"]; ok {
		t.Fatalf("x kept one millisecond past the 24 h window")
	}
}
