package api

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
)

// topKeys returns the top-level keys of a JSON object in order.
func topKeys(t *testing.T, raw string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestRouterNotFound(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	tests := []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/org1/app1"},
		{"GET", "/org1/app1/token"},
		{"POST", "/org1/app1/token/"},
		{"PATCH", "/org1/app1/push/notifiers"},
		{"HEAD", "/healthz"},
		{"POST", "/healthz"},
		{"GET", "/org1/app1/users/bob/push/binding/extra"},
		{"DELETE", "/org1/app1/users/bob/push/binding"},
		{"GET", "/org1/app1/users//push/binding"},
		{"DELETE", "/org1/app1/push/config"},
		{"GET", "/management/orgs/org1/apps"},
		{"POST", "/org1/app1/push/messages/x"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := h.do(tt.method, tt.path, tok, "")
			wantError(t, r, 404, "service_resource_not_found", "url is invalid")
			if r.body["exception"] != "ResourceNotFoundException" {
				t.Errorf("exception = %v", r.body["exception"])
			}
		})
	}
}

// TestRouterCheckOrder: a route error beats an auth error, which beats a
// validation error.
func TestRouterCheckOrder(t *testing.T) {
	h := newHarness(t)
	h.createApp("org1", "app1")
	wantError(t, h.do("GET", "/org1/app1/nowhere", "", "{"), 404,
		"service_resource_not_found", "")
	wantError(t, h.do("PUT", "/org1/app1/users/bob/push/binding", "", "{"), 401,
		"unauthorized", "Unable to authenticate (OAuth)")
	if h.be.requests != 0 {
		t.Errorf("backend saw %d requests for rejected calls", h.be.requests)
	}
}

func TestHealthAndReady(t *testing.T) {
	h := newHarness(t)
	r := h.do("GET", "/healthz", "", "")
	if r.status != 200 || r.raw != "{\"status\":\"ok\"}\n" {
		t.Errorf("healthz = %d %q", r.status, r.raw)
	}
	r = h.do("GET", "/readyz", "", "")
	if r.status != 200 || r.body["status"] != "ready" || len(r.body) != 1 {
		t.Errorf("readyz = %d %s", r.status, r.raw)
	}
	h.be.ready = "storage not open"
	r = h.do("GET", "/readyz", "", "")
	if r.status != 503 || r.body["status"] != "storage not open" {
		t.Errorf("readyz not ready = %d %s", r.status, r.raw)
	}
}

func TestEnvelope(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	rec := h.be.apps["org1#app1"]

	r := h.do("PUT", "/org1/app1/users/Bob/push/binding", tok,
		`{"device_id":"d1","device_token":"T1","notifier_name":"fcm-1"}`)
	if r.status != 200 {
		t.Fatalf("put binding: %d %s", r.status, r.raw)
	}
	want := []string{"action", "application", "organization", "applicationName", "uri",
		"path", "timestamp", "duration", "entities"}
	if got := topKeys(t, r.raw); !slices.Equal(got, want) {
		t.Errorf("envelope keys = %v, want %v", got, want)
	}
	fields := map[string]any{
		"action":          "put",
		"application":     rec.Uuid,
		"organization":    "org1",
		"applicationName": "app1",
		"uri":             "http://example.com/org1/app1/users/Bob/push/binding",
		"path":            "/users/Bob/push/binding",
		"timestamp":       float64(1700000000000),
		"duration":        float64(0),
	}
	for k, v := range fields {
		if r.body[k] != v {
			t.Errorf("envelope %s = %v, want %v", k, r.body[k], v)
		}
	}

	// data-shaped answers put data last in the same envelope.
	r = h.do("GET", "/org1/app1/push/notifiers", tok, "")
	want[len(want)-1] = "data"
	if got := topKeys(t, r.raw); !slices.Equal(got, want) {
		t.Errorf("envelope keys = %v, want %v", got, want)
	}
	if r.body["action"] != "get" {
		t.Errorf("action = %v, want get", r.body["action"])
	}
}

// TestEnvelopeDuration measures handling time with the injected clock.
func TestEnvelopeDuration(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	be := &slowBackend{fakeBackend: h.be, h: h, step: 7 * time.Millisecond}
	h.srv.opts.Backend = be
	r := h.do("GET", "/org1/app1/users/bob/push/binding", tok, "")
	if r.body["duration"] != float64(7) {
		t.Errorf("duration = %v, want 7", r.body["duration"])
	}
	be.fail = errBoom
	r = h.do("GET", "/org1/app1/users/bob/push/binding", tok, "")
	wantError(t, r, 500, "internal_error", "")
}

// slowBackend advances the harness clock on every user request.
type slowBackend struct {
	*fakeBackend
	h    *harness
	step time.Duration
}

func (s *slowBackend) UserRequest(ctx context.Context, appKey, user string,
	req proto.Message) (proto.Message, error) {
	s.h.now = s.h.now.Add(s.step)
	return s.fakeBackend.UserRequest(ctx, appKey, user, req)
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		in     *messages.Error
		status int
		code   string
		desc   string
	}{
		{messages.InvalidField("device_id"), 400, "illegal_argument",
			"parameters is invalid : device_id"},
		{&messages.Error{Code: "illegal_argument", Field: "x"}, 400, "illegal_argument",
			"parameters is invalid : x"},
		{&messages.Error{Code: "entity_not_found", Description: "t1 template is not exist"},
			400, "entity_not_found", "t1 template is not exist"},
		{&messages.Error{Code: "message_too_large"}, 400, "message_send_error",
			"message is too large"},
		{&messages.Error{Code: "forbidden_op"}, 403, "forbidden_op", "forbidden operation"},
		{&messages.Error{Code: "not_found"}, 404, "service_resource_not_found",
			"url is invalid"},
		{&messages.Error{Code: "internal", Description: "disk"}, 500, "internal_error", "disk"},
		{&messages.Error{Code: "unavailable"}, 503, "service_unavailable", "unavailable"},
		{&messages.Error{Code: "overloaded"}, 503, "service_unavailable", "overloaded"},
		{&messages.Error{Code: "timeout", Description: "slow"}, 503, "service_unavailable",
			"slow"},
		{&messages.Error{Code: "weird"}, 500, "internal_error", "internal error"},
	}
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	for _, tt := range tests {
		t.Run(tt.in.Code, func(t *testing.T) {
			h.be.replyErr = tt.in
			r := h.do("GET", "/org1/app1/users/bob/push/binding", tok, "")
			wantError(t, r, tt.status, tt.code, tt.desc)
			want := []string{"error", "exception", "error_description", "timestamp",
				"duration"}
			if got := topKeys(t, r.raw); !slices.Equal(got, want) {
				t.Errorf("error keys = %v, want %v", got, want)
			}
		})
	}
}

func TestBackendFailure(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	h.be.fail = errBoom
	r := h.do("GET", "/org1/app1/users/bob/push/binding", tok, "")
	wantError(t, r, 500, "internal_error", "")
	if strings.Contains(r.raw, "boom") {
		t.Errorf("internal error text leaked: %s", r.raw)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	lim := &countLimiter{allow: 1}
	h.srv.opts.Limiter = lim
	path := "/org1/app1/users/bob/push/binding"
	if r := h.do("GET", path, tok, ""); r.status != 200 {
		t.Fatalf("first call: %d %s", r.status, r.raw)
	}
	wantError(t, h.do("GET", path, tok, ""), 429, "reach_limit",
		"This request has reached api limit")
	// Notifiers are not rate limited; a bad token fails before the limit.
	if r := h.do("GET", "/org1/app1/push/notifiers", tok, ""); r.status != 200 {
		t.Errorf("notifiers limited: %d", r.status)
	}
	wantError(t, h.do("GET", path, "", ""), 401, "unauthorized", "")
	if lim.buckets["user"] != 2 || len(lim.buckets) != 1 {
		t.Errorf("limiter saw %v, want user:2", lim.buckets)
	}
}

type countLimiter struct {
	allow   int
	buckets map[string]int
}

func (l *countLimiter) Allow(app *messages.AppRecord, bucket string) bool {
	if l.buckets == nil {
		l.buckets = map[string]int{}
	}
	l.buckets[bucket]++
	return l.buckets[bucket] <= l.allow && app != nil
}
