package api

import (
	"slices"
	"strings"
	"testing"

	"github.com/herald-im/herald/messages"
)

const statsPath = "/org1/app1/push/data/offline-push/begin/"

func statsURL(begin, end, query string) string {
	u := statsPath + begin + "/end/" + end
	if query != "" {
		u += "?" + query
	}
	return u
}

// dayCounts reads data[day][platform] of a statistics answer.
func dayCounts(t *testing.T, r result, day, platform string) map[string]any {
	t.Helper()
	data, _ := r.body["data"].(map[string]any)
	byPlatform, _ := data[day].(map[string]any)
	counts, ok := byPlatform[platform].(map[string]any)
	if !ok {
		t.Fatalf("answer lacks data[%s][%s]: %s", day, platform, r.raw)
	}
	return counts
}

func wantDay(t *testing.T, r result, day, platform string, success, fail float64) {
	t.Helper()
	c := dayCounts(t, r, day, platform)
	if c["successCount"] != success || c["failCount"] != fail || c["arriveCount"] != 0.0 ||
		len(c) != 3 {
		t.Errorf("data[%s][%s] = %v, want success %v fail %v arrive 0", day, platform, c,
			success, fail)
	}
}

func TestStatisticsShape(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")

	r := h.do("GET", statsURL("2024-04-01", "2024-04-03", ""), tok, "")
	if r.status != 200 {
		t.Fatalf("statistics: %d %s", r.status, r.raw)
	}
	want := []string{"action", "application", "organization", "applicationName", "uri",
		"path", "timestamp", "duration", "data", "status"}
	if got := topKeys(t, r.raw); !slices.Equal(got, want) {
		t.Errorf("answer keys = %v, want %v", got, want)
	}
	if r.body["status"] != "OK" || r.body["action"] != "get" ||
		r.body["path"] != "/push/data/offline-push/begin/2024-04-01/end/2024-04-03" {
		t.Errorf("envelope %s", r.raw)
	}
	data := r.body["data"].(map[string]any)
	if len(data) != 3 {
		t.Errorf("data has %d days, want 3: %s", len(data), r.raw)
	}
	// The fake reports the day of month as success and the zone's offset
	// as fail: an app without a dnd_timezone counts in Asia/Shanghai.
	for _, day := range []string{"2024-04-01", "2024-04-02", "2024-04-03"} {
		n := float64(day[len(day)-1] - '0')
		for _, p := range []string{"APNS", "ANDROID"} {
			wantDay(t, r, day, p, n, 8)
		}
	}

	r = h.do("GET", statsURL("2024-04-01", "2024-04-01", "platform=APNS"), tok, "")
	if r.status != 200 {
		t.Fatalf("statistics APNS: %d %s", r.status, r.raw)
	}
	wantDay(t, r, "2024-04-01", "APNS", 1, 8)
	if day := r.body["data"].(map[string]any)["2024-04-01"].(map[string]any); len(day) != 1 {
		t.Errorf("APNS query answered %v, want APNS only", day)
	}
	r = h.do("GET", statsURL("2024-04-01", "2024-04-01", "platform=ANDROID"), tok, "")
	if day := r.body["data"].(map[string]any)["2024-04-01"].(map[string]any); len(day) != 1 ||
		day["ANDROID"] == nil {
		t.Errorf("ANDROID query answered %v, want ANDROID only", day)
	}
	r = h.do("GET", statsURL("2024-04-01", "2024-04-01", "platform=ALL"), tok, "")
	wantDay(t, r, "2024-04-01", "APNS", 1, 8)
	wantDay(t, r, "2024-04-01", "ANDROID", 1, 8)
}

func TestStatisticsAppTimezone(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	h.be.apps["org1#app1"].Config = &messages.PushConfig{DndTimezone: "Europe/Berlin",
		StatisticsEnabled: true}

	// Berlin moves to summer time at 02:00 on 2024-03-31; the fake reads
	// the offset at each day's local midnight.
	r := h.do("GET", statsURL("2024-03-30", "2024-04-01", "platform=ANDROID"), tok, "")
	if r.status != 200 {
		t.Fatalf("statistics: %d %s", r.status, r.raw)
	}
	wantDay(t, r, "2024-03-30", "ANDROID", 30, 1)
	wantDay(t, r, "2024-03-31", "ANDROID", 31, 1)
	wantDay(t, r, "2024-04-01", "ANDROID", 1, 2)
}

func TestStatisticsErrors(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	userTok := h.userToken("org1", "app1", tok, "bob")
	otherTok := h.appToken("org1", "app2")

	for _, tc := range []struct {
		name, path, token string
		status            int
		code, field       string
	}{
		{"bad begin", statsURL("2024-4-1", "2024-04-02", ""), tok, 400, "", "begin"},
		{"impossible begin", statsURL("2024-02-30", "2024-03-02", ""), tok, 400, "", "begin"},
		{"bad end", statsURL("2024-04-01", "tomorrow", ""), tok, 400, "", "end"},
		{"begin after end", statsURL("2024-04-02", "2024-04-01", ""), tok, 400, "", "begin"},
		{"32 days", statsURL("2024-01-01", "2024-02-01", ""), tok, 400, "", "end"},
		{"platform", statsURL("2024-04-01", "2024-04-02", "platform=IOS"), tok, 400, "",
			"platform"},
		{"user token", statsURL("2024-04-01", "2024-04-02", ""), userTok, 403, "forbidden_op",
			""},
		{"other app", statsURL("2024-04-01", "2024-04-02", ""), otherTok, 403,
			"forbidden_op", ""},
		{"no token", statsURL("2024-04-01", "2024-04-02", ""), "", 401, "unauthorized", ""},
		{"POST", statsURL("2024-04-01", "2024-04-02", ""), tok, 404,
			"service_resource_not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.be.requests
			method := "GET"
			if tc.name == "POST" {
				method = "POST"
			}
			r := h.do(method, tc.path, tc.token, "")
			if tc.field != "" {
				wantInvalid(t, r, tc.field)
			} else {
				wantError(t, r, tc.status, tc.code, "")
			}
			if h.be.requests != before {
				t.Errorf("a refused query reached the backend")
			}
		})
	}

	// 31 days, both ends included, is the longest range.
	if r := h.do("GET", statsURL("2024-01-01", "2024-01-31", ""), tok, ""); r.status != 200 {
		t.Errorf("31 days: %d %s", r.status, r.raw)
	}
}

func TestStatisticsDisabledAndLimited(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	lim := &countLimiter{allow: 1}
	h.srv.opts.Limiter = lim
	path := statsURL("2024-04-01", "2024-04-01", "")

	if r := h.do("GET", path, tok, ""); r.status != 200 {
		t.Fatalf("first call: %d %s", r.status, r.raw)
	}
	wantError(t, h.do("GET", path, tok, ""), 429, "reach_limit",
		"This request has reached api limit")
	if lim.buckets["statistics"] != 2 || len(lim.buckets) != 1 {
		t.Errorf("limiter saw %v, want statistics:2", lim.buckets)
	}

	// A feature turned off is refused before the rate limit is consulted.
	h.be.apps["org1#app1"].Config = &messages.PushConfig{StatisticsEnabled: false}
	wantError(t, h.do("GET", path, tok, ""), 403, "forbidden_op", "forbidden operation")
	if lim.buckets["statistics"] != 2 {
		t.Errorf("a disabled query used the rate limit: %v", lim.buckets)
	}
}

func TestStatisticsBackendFailure(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	h.be.fail = errBoom
	r := h.do("GET", statsURL("2024-04-01", "2024-04-01", ""), tok, "")
	wantError(t, r, 500, "internal_error", "")
	if strings.Contains(r.raw, "boom") {
		t.Errorf("internal error text leaked: %s", r.raw)
	}
}
