package apns

import (
	"testing"

	"github.com/herald-im/herald/vendors"
)

// TestClassify feeds the apns rows of VENDORS.md §1.8 and the §1.4 rules
// for unlisted answers.
func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		reason string
		want   vendors.Class
	}{
		{200, "", vendors.Delivered},
		{410, "Unregistered", vendors.TokenInvalid},
		{410, "ExpiredToken", vendors.TokenInvalid},
		{410, "", vendors.TokenInvalid},
		{400, "BadDeviceToken", vendors.TokenInvalid},
		{400, "DeviceTokenNotForTopic", vendors.TokenInvalid},
		{400, "MissingDeviceToken", vendors.TokenInvalid},
		{500, "InternalServerError", vendors.Retryable},
		{500, "", vendors.Retryable},
		{503, "ServiceUnavailable", vendors.Retryable},
		{503, "Shutdown", vendors.Retryable},
		{502, "", vendors.Retryable},
		{400, "IdleTimeout", vendors.Retryable},
		{429, "TooManyRequests", vendors.Throttled},
		{429, "TooManyProviderTokenUpdates", vendors.Throttled},
		{429, "", vendors.Throttled},
		{403, "InvalidProviderToken", vendors.CredentialError},
		{403, "ExpiredProviderToken", vendors.CredentialError},
		{403, "BadCertificate", vendors.CredentialError},
		{403, "", vendors.CredentialError},
		{401, "", vendors.CredentialError},
		{400, "BadTopic", vendors.CredentialError},
		{400, "MissingTopic", vendors.CredentialError},
		{400, "TopicDisallowed", vendors.CredentialError},
		{400, "BadCollapseId", vendors.PayloadError},
		{400, "BadPriority", vendors.PayloadError},
		{400, "PayloadEmpty", vendors.PayloadError},
		{400, "", vendors.PayloadError},
		{404, "BadPath", vendors.PayloadError},
		{405, "MethodNotAllowed", vendors.PayloadError},
		{413, "PayloadTooLarge", vendors.PayloadError},
		{418, "", vendors.PayloadError},
		{202, "", vendors.PayloadError},
	}
	for _, tt := range tests {
		if got := Classify(tt.status, tt.reason); got != tt.want {
			t.Errorf("Classify(%d, %q) = %v, want %v", tt.status, tt.reason, got, tt.want)
		}
	}
}

func TestRefreshable(t *testing.T) {
	tests := []struct {
		status int
		reason string
		want   bool
	}{
		{403, "ExpiredProviderToken", true},
		{403, "InvalidProviderToken", true},
		{403, "BadCertificate", false},
		{429, "TooManyProviderTokenUpdates", false},
		{200, "", false},
	}
	for _, tt := range tests {
		if got := refreshable(tt.status, tt.reason); got != tt.want {
			t.Errorf("refreshable(%d, %q) = %v, want %v", tt.status, tt.reason, got, tt.want)
		}
	}
}
