package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/herald-im/herald/messages"
)

// entitiesJSON re-encodes an answer's entities for exact comparison.
func entitiesJSON(t *testing.T, r result) string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("answer %d %s, want 200", r.status, r.raw)
	}
	b, err := json.Marshal(r.body["entities"])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBindingPut(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	put := func(u, body string) result {
		return h.do("PUT", "/org1/app1/users/"+u+"/push/binding", tok, body)
	}
	steps := []struct{ user, body, want string }{
		{"bob", `{"device_id":"d1","device_token":"T1","notifier_name":"fcm-1"}`,
			`[{"device_id":"d1","device_token":"T1","notifier_name":"fcm-1"}]`},
		{"BOB", `{"device_id":"d1","device_token":"T3","notifier_name":"apns-prod"}`,
			`[{"device_id":"d1","device_token":"T3","notifier_name":"apns-prod"},` +
				`{"device_id":"d1","device_token":"T1","notifier_name":"fcm-1"}]`},
		// Another device's binding is not part of d1's answer.
		{"bob", `{"device_id":"d2","device_token":"T2","notifier_name":"fcm-1"}`,
			`[{"device_id":"d2","device_token":"T2","notifier_name":"fcm-1"}]`},
		// B04: an empty token deletes that binding only.
		{"bob", `{"device_id":"d1","device_token":"","notifier_name":"fcm-1"}`,
			`[{"device_id":"d1","device_token":"T3","notifier_name":"apns-prod"}]`},
		// B05: an empty notifier deletes every binding of the device.
		{"bob", `{"device_id":"d1","device_token":"anything","notifier_name":""}`, `[]`},
	}
	for i, s := range steps {
		if got := entitiesJSON(t, put(s.user, s.body)); got != s.want {
			t.Errorf("step %d: entities = %s, want %s", i, got, s.want)
		}
	}

	got := entitiesJSON(t, h.do("GET", "/org1/app1/users/Bob/push/binding", tok, ""))
	if want := `[{"device_id":"d2","device_token":"T2","notifier_name":"fcm-1"}]`; got != want {
		t.Errorf("GET entities = %s, want %s", got, want)
	}
	if h.be.users["org1#app1/BOB"] != nil {
		t.Errorf("user id reached the backend in upper case")
	}
}

func TestBindingGetSorted(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	for _, b := range []string{"d2/n2", "d1/n2", "d2/n1", "d1/n1"} {
		d, n, _ := strings.Cut(b, "/")
		r := h.do("PUT", "/org1/app1/users/bob/push/binding", tok,
			`{"device_id":"`+d+`","device_token":"t","notifier_name":"`+n+`"}`)
		if r.status != 200 {
			t.Fatalf("put: %d %s", r.status, r.raw)
		}
	}
	var got []string
	for _, e := range h.do("GET", "/org1/app1/users/bob/push/binding", tok, "").
		body["entities"].([]any) {
		m := e.(map[string]any)
		got = append(got, m["device_id"].(string)+"/"+m["notifier_name"].(string))
	}
	if strings.Join(got, ",") != "d1/n1,d1/n2,d2/n1,d2/n2" {
		t.Errorf("GET order = %v", got)
	}
	empty := h.do("GET", "/org1/app1/users/carol/push/binding", tok, "")
	if got := entitiesJSON(t, empty); got != "[]" {
		t.Errorf("no bindings = %s, want []", got)
	}
}

func TestBindingInvalid(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	long := func(n int) string { return strings.Repeat("x", n) }
	b := func(d, tkn, n string) string {
		return `{"device_id":"` + d + `","device_token":"` + tkn + `","notifier_name":"` + n + `"}`
	}
	tests := []struct{ name, body, field string }{
		{"no body", ``, "body"},
		{"unparsable", `{"device_id":`, "body"},
		{"array", `[]`, "body"},
		{"no device_id", `{"device_token":"t","notifier_name":"n"}`, "device_id"},
		{"no device_token", `{"device_id":"d","notifier_name":"n"}`, "device_token"},
		{"no notifier_name", `{"device_id":"d","device_token":"t"}`, "notifier_name"},
		{"null token", `{"device_id":"d","device_token":null,"notifier_name":"n"}`,
			"device_token"},
		{"number token", `{"device_id":"d","device_token":5,"notifier_name":"n"}`,
			"device_token"},
		{"number device", `{"device_id":1,"device_token":"t","notifier_name":"n"}`,
			"device_id"},
		{"bool notifier", `{"device_id":"d","device_token":"t","notifier_name":true}`,
			"notifier_name"},
		{"empty device", b("", "t", "n"), "device_id"},
		{"device 129", b(long(129), "t", "n"), "device_id"},
		{"token 4097", b("d", long(4097), "n"), "device_token"},
		{"notifier 129", b("d", "t", long(129)), "notifier_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, h.do("PUT", "/org1/app1/users/bob/push/binding", tok, tt.body),
				tt.field)
		})
	}
	if h.be.requests != 0 {
		t.Errorf("rejected bindings reached the backend %d times", h.be.requests)
	}
	ok := h.do("PUT", "/org1/app1/users/bob/push/binding", tok, b(long(128), long(4096),
		long(128)))
	if ok.status != 200 {
		t.Errorf("binding at the limits: %d %s", ok.status, ok.raw)
	}
}

func TestPresence(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	path := "/org1/app1/users/Bob/presence/D1"
	h.be.mu.Lock()
	h.be.users["org1#app1/bob"] = &fakeUser{states: map[string]messages.PresenceState{},
		badges: map[string]int64{"D1": 4}}
	h.be.mu.Unlock()

	r := h.do("PUT", path, tok, `{"state":"kicked","timestamp":1700000000000}`)
	if r.status != 200 {
		t.Fatalf("presence: %d %s", r.status, r.raw)
	}
	data, _ := json.Marshal(r.body["data"])
	if want := `{"device_id":"D1","offline_msg_count":4,"state":"kicked"}`; string(data) != want {
		t.Errorf("data = %s, want %s", data, want)
	}
	r = h.do("PUT", path, tok, `{"state":"online"}`)
	if d := r.body["data"].(map[string]any); d["state"] != "online" ||
		d["offline_msg_count"] != 0.0 {
		t.Errorf("online data = %v", d)
	}

	tests := []struct{ name, body, field string }{
		{"no state", `{}`, "state"},
		{"unknown state", `{"state":"away"}`, "state"},
		{"upper-case state", `{"state":"ONLINE"}`, "state"},
		{"state type", `{"state":1}`, "state"},
		{"timestamp type", `{"state":"online","timestamp":"now"}`, "timestamp"},
		{"negative timestamp", `{"state":"online","timestamp":-1}`, "timestamp"},
		{"unparsable", `state=online`, "body"},
	}
	before := h.be.requests
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, h.do("PUT", path, tok, tt.body), tt.field)
		})
	}
	long := "/org1/app1/users/bob/presence/" + strings.Repeat("d", 129)
	wantInvalid(t, h.do("PUT", long, tok, `{"state":"online"}`), "device_id")
	if h.be.requests != before {
		t.Errorf("rejected presence reached the backend")
	}
}

func TestOfflineMsgCount(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	h.be.mu.Lock()
	h.be.users["org1#app1/bob"] = &fakeUser{states: map[string]messages.PresenceState{},
		badges: map[string]int64{"d1": 2, "d2": 5}}
	h.be.mu.Unlock()

	tests := []struct{ path, want string }{
		{"/org1/app1/users/BOB/offline_msg_count", `{"bob":5}`},
		{"/org1/app1/users/bob/offline_msg_count?device_id=d1", `{"bob":2}`},
		{"/org1/app1/users/bob/offline_msg_count?device_id=zz", `{"bob":0}`},
		{"/org1/app1/users/carol/offline_msg_count", `{"carol":0}`},
	}
	for _, tt := range tests {
		r := h.do("GET", tt.path, tok, "")
		data, _ := json.Marshal(r.body["data"])
		if r.status != 200 || string(data) != tt.want {
			t.Errorf("GET %s = %d %s, want data %s", tt.path, r.status, r.raw, tt.want)
		}
	}
	wantInvalid(t, h.do("GET", "/org1/app1/users/bob/offline_msg_count?device_id=", tok, ""),
		"device_id")
	wantInvalid(t, h.do("GET", "/org1/app1/users/bob/offline_msg_count?device_id="+
		strings.Repeat("d", 129), tok, ""), "device_id")
}
