package fcm

import (
	"strconv"
	"testing"

	"github.com/herald-im/herald/vendors"
)

func fcmErr(code int, status string, details string) []byte {
	return []byte(`{"error":{"code":` + strconv.Itoa(code) + `,"message":"m","status":"` + status +
		`","details":[` + details + `]}}`)
}

func detail(code string) string {
	return `{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"` +
		code + `"}`
}

func violation(field string) string {
	return `{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":` +
		`[{"field":"` + field + `","description":"d"}]}`
}

// TestClassify covers every fcm row of VENDORS.md §1.8 and the §1.4
// fallbacks.
func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   []byte
		class  vendors.Class
		reason string
	}{
		{"delivered", 200, []byte(`{"name":"projects/p/messages/1"}`), vendors.Delivered, ""},
		{"unregistered", 404, fcmErr(404, "NOT_FOUND", detail("UNREGISTERED")),
			vendors.TokenInvalid, "UNREGISTERED"},
		{"sender id mismatch", 403, fcmErr(403, "PERMISSION_DENIED",
			detail("SENDER_ID_MISMATCH")), vendors.TokenInvalid, "SENDER_ID_MISMATCH"},
		{"invalid token field", 400, fcmErr(400, "INVALID_ARGUMENT",
			detail("INVALID_ARGUMENT")+","+violation("message.token")),
			vendors.TokenInvalid, "INVALID_ARGUMENT"},
		{"invalid token, status only", 400, fcmErr(400, "INVALID_ARGUMENT",
			violation("message.token")), vendors.TokenInvalid, "INVALID_ARGUMENT"},
		{"invalid other field", 400, fcmErr(400, "INVALID_ARGUMENT",
			detail("INVALID_ARGUMENT")+","+violation("message.android.ttl")),
			vendors.PayloadError, "INVALID_ARGUMENT"},
		{"invalid, no field", 400, fcmErr(400, "INVALID_ARGUMENT", detail("INVALID_ARGUMENT")),
			vendors.PayloadError, "INVALID_ARGUMENT"},
		{"internal", 500, fcmErr(500, "INTERNAL", detail("INTERNAL")),
			vendors.Retryable, "INTERNAL"},
		{"unavailable", 503, fcmErr(503, "UNAVAILABLE", detail("UNAVAILABLE")),
			vendors.Retryable, "UNAVAILABLE"},
		{"unspecified", 500, fcmErr(500, "UNKNOWN", detail("UNSPECIFIED_ERROR")),
			vendors.Retryable, "UNSPECIFIED_ERROR"},
		{"quota", 429, fcmErr(429, "RESOURCE_EXHAUSTED", detail("QUOTA_EXCEEDED")),
			vendors.Throttled, "QUOTA_EXCEEDED"},
		{"unauthenticated", 401, fcmErr(401, "UNAUTHENTICATED", ""),
			vendors.CredentialError, "UNAUTHENTICATED"},
		{"third party auth", 401, fcmErr(401, "UNAUTHENTICATED",
			detail("THIRD_PARTY_AUTH_ERROR")), vendors.CredentialError, "THIRD_PARTY_AUTH_ERROR"},
		{"other 403", 403, fcmErr(403, "PERMISSION_DENIED", ""),
			vendors.CredentialError, "PERMISSION_DENIED"},
		{"unknown code, status decides", 503, fcmErr(503, "UNAVAILABLE", detail("NEW_THING")),
			vendors.Retryable, "NEW_THING"},
		{"bare 502", 502, []byte("<html>bad gateway</html>"), vendors.Retryable, ""},
		{"bare 429", 429, nil, vendors.Throttled, ""},
		{"bare 401", 401, nil, vendors.CredentialError, ""},
		{"bare 404", 404, []byte("not found"), vendors.PayloadError, ""},
		{"odd 2xx", 204, nil, vendors.PayloadError, ""},
	}
	for _, tt := range tests {
		a := ParseAnswer(tt.body)
		if got := Classify(tt.status, a); got != tt.class || a.Reason() != tt.reason {
			t.Errorf("%s: Classify = %v reason %q, want %v %q", tt.name, got, a.Reason(),
				tt.class, tt.reason)
		}
	}
}

func TestRefreshable(t *testing.T) {
	if !refreshable(401, ParseAnswer(fcmErr(401, "UNAUTHENTICATED", ""))) {
		t.Error("plain 401 not refreshable")
	}
	if refreshable(401, ParseAnswer(fcmErr(401, "UNAUTHENTICATED",
		detail("THIRD_PARTY_AUTH_ERROR")))) {
		t.Error("THIRD_PARTY_AUTH_ERROR refreshable")
	}
	if refreshable(403, ParseAnswer(fcmErr(403, "PERMISSION_DENIED", ""))) {
		t.Error("403 refreshable")
	}
}
