package events

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/herald-im/herald/messages"
)

func TestEventsChannel(t *testing.T) {
	for _, tc := range []struct{ provider, want string }{
		{"apns", "APNS"},
		{"apns-voip", "APNS"},
		{"fcm", "ANDROID"},
		{"huawei", "HUAWEI"},
		{"honor", "HONOR"},
		{"xiaomi", "XIAOMI"},
		{"oppo", "OPPO"},
		{"vivo", "VIVO"},
		{"meizu", "MEIZU"},
		{"", ""},
		{"pigeon", ""},
		{"APNS", ""},
	} {
		if got := Channel(tc.provider); got != tc.want {
			t.Errorf("Channel(%q) = %q, want %q", tc.provider, got, tc.want)
		}
	}
}

func TestEventsPlatform(t *testing.T) {
	for _, tc := range []struct{ provider, want string }{
		{"apns", "APNS"},
		{"apns-voip", "APNS"},
		{"fcm", "ANDROID"},
		{"huawei", "ANDROID"},
		{"meizu", "ANDROID"},
		{"", ""},
	} {
		if got := Platform(tc.provider); got != tc.want {
			t.Errorf("Platform(%q) = %q, want %q", tc.provider, got, tc.want)
		}
	}
}

// recorder keeps what it is given.
type recorder struct {
	mu  sync.Mutex
	got []*Event
}

func (r *recorder) Emit(ev *Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
}

func TestEventsFanout(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	sink := Fanout(a, nil, b)
	ev := &Event{AppKey: "org1#app1", MsgID: "m1"}
	sink.Emit(ev)
	sink.Emit(ev)
	for name, r := range map[string]*recorder{"a": a, "b": b} {
		if len(r.got) != 2 || r.got[0] != ev {
			t.Errorf("sink %s got %d events, want the event twice", name, len(r.got))
		}
	}

	Discard.Emit(ev) // must not panic
	Fanout().Emit(ev)
}

func TestEventsPayloadOf(t *testing.T) {
	if PayloadOf(nil) != nil {
		t.Error("PayloadOf(nil) is not nil")
	}
	got := PayloadOf(&messages.Notification{Title: "T", Body: "B", HasBadge: true, Badge: 3,
		Custom: []byte(`{"f":"alice","t":"bob","m":"m1","g":"g1","e":{"k":[1,2]}}`)})
	want := Payload{Title: "T", Content: "B", Badge: 3, F: "alice", T: "bob", M: "m1",
		G: "g1", E: json.RawMessage(`{"k":[1,2]}`)}
	if got.Title != want.Title || got.Content != want.Content || got.Badge != want.Badge ||
		got.F != want.F || got.T != want.T || got.M != want.M || got.G != want.G ||
		string(got.E) != string(want.E) {
		t.Errorf("PayloadOf = %+v, want %+v", *got, want)
	}

	// No badge, no g, no e, and custom JSON that does not parse.
	got = PayloadOf(&messages.Notification{Title: "T", Badge: 9,
		Custom: []byte(`{"f":"a","t":"b","m":"m"}`)})
	if got.Badge != 0 || got.G != "" || got.E != nil || got.F != "a" {
		t.Errorf("PayloadOf without badge/g/e = %+v", *got)
	}
	got = PayloadOf(&messages.Notification{Title: "T", Custom: []byte(`[`)})
	if got.Title != "T" || got.F != "" {
		t.Errorf("PayloadOf with bad custom = %+v", *got)
	}
}
