package e2e

import "testing"

// TestRateLimit checks that an app's rate_limits apply to its REST calls
// and that the excess gets the 429 envelope of SPEC.md §11.1.
func TestRateLimit(t *testing.T) {
	s := startSim(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	var cfg envelope
	if code := httpJSON(t, "PUT", n.url("/push/config"), q.token, map[string]any{
		"rate_limits": map[string]any{"templates": 2},
	}, &cfg); code != 200 {
		t.Fatalf("set rate limits: status %d %+v", code, cfg)
	}

	// Five quick reads span at most two one-second windows of two
	// requests each, so at least one must be refused.
	var codes []int
	var refused *envelope
	for range 5 {
		var got envelope
		code := httpJSON(t, "GET", n.url("/notification/template/default"), q.token, nil, &got)
		codes = append(codes, code)
		if code == 429 && refused == nil {
			refused = &got
		}
	}
	if codes[0] != 200 || refused == nil {
		t.Fatalf("template reads answered %v, want 200 first and a 429 later", codes)
	}
	if refused.Error != "reach_limit" || refused.Desc != "This request has reached api limit" {
		t.Fatalf("429 envelope = %+v", refused)
	}

	// Other buckets are not affected.
	var bindings envelope
	if code := httpJSON(t, "GET", n.url("/users/bob/push/binding"), q.token, nil,
		&bindings); code != 200 {
		t.Fatalf("binding read after template limit = %d, want 200", code)
	}
}
