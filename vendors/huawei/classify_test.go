package huawei

import (
	"testing"

	"github.com/herald-im/herald/vendors"
)

// TestClassify covers every huawei row of VENDORS.md §1.8.
func TestClassify(t *testing.T) {
	partial := `{"success":1,"failure":1,"illegal_tokens":["T2"]}`
	tests := []struct {
		status int
		code   string
		msg    string
		token  string
		want   vendors.Class
	}{
		{200, "80000000", "Success", "T1", vendors.Delivered},
		{200, "80100000", partial, "T1", vendors.Delivered},
		{200, "80100000", partial, "T2", vendors.TokenInvalid},
		{200, "80300007", "", "T1", vendors.TokenInvalid},
		{500, "", "", "T1", vendors.Retryable},
		{502, "", "", "T1", vendors.Retryable},
		{500, "81000001", "", "T1", vendors.Retryable},
		{200, "80600003", "", "T1", vendors.Retryable},
		{503, "", "", "T1", vendors.Throttled},
		{200, "80100017", "", "T1", vendors.Throttled},
		{401, "80200001", "", "T1", vendors.CredentialError},
		{401, "80200003", "", "T1", vendors.CredentialError},
		{200, "80200005", "", "T1", vendors.CredentialError},
		{401, "", "", "T1", vendors.CredentialError},
		{403, "80300002", "", "T1", vendors.CredentialError},
		{400, "80100001", "", "T1", vendors.PayloadError},
		{400, "80100003", "", "T1", vendors.PayloadError},
		{400, "80100004", "", "T1", vendors.PayloadError},
		{400, "80100013", "", "T1", vendors.PayloadError},
		{400, "80100016", "", "T1", vendors.PayloadError},
		{400, "80300008", "", "T1", vendors.PayloadError},
		{400, "80300010", "", "T1", vendors.PayloadError},
		{400, "80300011", "", "T1", vendors.PayloadError},
		{400, "", "", "T1", vendors.PayloadError},
		{404, "", "", "T1", vendors.PayloadError},
		{200, "89999999", "", "T1", vendors.PayloadError},
		{429, "", "", "T1", vendors.Throttled},
		{403, "", "", "T1", vendors.CredentialError},
	}
	for _, tt := range tests {
		got := Classify(tt.status, tt.code, tt.msg, tt.token)
		if got != tt.want {
			t.Errorf("Classify(%d, %q, token %s) = %v, want %v", tt.status, tt.code,
				tt.token, got, tt.want)
		}
	}
}

func TestParseAnswerNumericCode(t *testing.T) {
	code, msg, id := parseAnswer([]byte(`{"code":80000000,"msg":"Success","requestId":"r1"}`))
	if code != "80000000" || msg != "Success" || id != "r1" {
		t.Errorf("parseAnswer = %q %q %q", code, msg, id)
	}
	if code, _, _ := parseAnswer([]byte(`<html>`)); code != "" {
		t.Errorf("parseAnswer(html) code = %q, want empty", code)
	}
}
