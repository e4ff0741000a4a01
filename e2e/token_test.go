package e2e

import (
	"net/url"
	"testing"
	"time"
)

// TestTokenOwnership proves SPEC.md §4's ownership rule over REST through
// the real binaries, and that a Xiaomi regId vendorsim accepted but lists
// as dead is unbound once the node polls the feedback API.
func TestTokenOwnership(t *testing.T) {
	s, addrs, creds := startSimXO(t)
	t.Setenv("HERALD_FEEDBACK_POLL_INTERVAL", "200ms")
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	// Alice binds the device token bob's d1 holds: bob loses it.
	var bound envelope
	if code := httpJSON(t, "PUT", n.url("/users/alice/push/binding"), q.token, map[string]any{
		"device_id": "a1", "device_token": q.device, "notifier_name": "apns-dev",
	}, &bound); code != 200 || len(bound.Entities) != 1 {
		t.Fatalf("alice's bind: status %d %+v", code, bound)
	}
	if got := q.bindingsOf(t, "bob"); len(got) != 0 {
		t.Fatalf("bob still holds %v after alice took his token", got)
	}
	if got := q.bindingsOf(t, "alice"); len(got) != 1 || got[0]["device_token"] != q.device {
		t.Fatalf("alice holds %v, want the token", got)
	}

	// A dead regId: accepted by the push, then reported by the feedback
	// API, which the node polls; the node then unbinds it.
	q.addNotifier(t, "xiaomi-1", "xiaomi", addrs["xiaomi"], creds.Vendors["xiaomi"],
		"app_secret")
	dead := "deadXM0123456789"
	q.bindTo(t, dead, "xiaomi-1")
	if got := q.bindingsOf(t, "bob"); len(got) != 1 || got[0]["device_token"] != dead {
		t.Fatalf("bob holds %v, want the dead regId", got)
	}
	if res := q.pushExt(t, "x-dead", nil); res["pushed"] != float64(1) {
		t.Fatalf("push to a dead regId answered %v, want 1 pushed", res)
	}
	s.wait(t, 1, url.Values{"token": {dead}, "outcome": {"delivered"}})
	waitFor(t, "the poller to unbind the dead regId", 20*time.Second, func() bool {
		return len(q.bindingsOf(t, "bob")) == 0
	})
	if got := q.bindingsOf(t, "alice"); len(got) != 1 {
		t.Fatalf("alice holds %v after the unbind, want her binding untouched", got)
	}
}

// bindingsOf returns a user's bindings over REST.
func (q *quickstart) bindingsOf(t *testing.T, user string) []map[string]any {
	t.Helper()
	var got envelope
	if code := httpJSON(t, "GET", q.node.url("/users/"+user+"/push/binding"), q.token, nil,
		&got); code != 200 {
		t.Fatalf("bindings of %s: status %d %+v", user, code, got)
	}
	return got.Entities
}
