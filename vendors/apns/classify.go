package apns

import (
	"net/http"

	"github.com/herald-im/herald/vendors"
)

// APNs answer reasons Herald branches on (VENDORS.md §1.8).
const (
	ReasonBadDeviceToken         = "BadDeviceToken"
	ReasonDeviceTokenNotForTopic = "DeviceTokenNotForTopic"
	ReasonMissingDeviceToken     = "MissingDeviceToken"
	ReasonIdleTimeout            = "IdleTimeout"
	ReasonBadTopic               = "BadTopic"
	ReasonMissingTopic           = "MissingTopic"
	ReasonTopicDisallowed        = "TopicDisallowed"
	ReasonExpiredProviderToken   = "ExpiredProviderToken"
	ReasonInvalidProviderToken   = "InvalidProviderToken"
	ReasonMissingProviderToken   = "MissingProviderToken"
)

// Classify maps one APNs answer to its outcome class (VENDORS.md §1.8, apns
// rows; §1.4 for answers not listed there). It sees one answer: the single
// token refresh that precedes an auth refusal being final happens in Push.
func Classify(status int, reason string) vendors.Class {
	switch {
	case status == http.StatusOK:
		return vendors.Delivered
	case status == http.StatusGone:
		return vendors.TokenInvalid
	case status == http.StatusBadRequest:
		return classify400(reason)
	case status == http.StatusTooManyRequests:
		return vendors.Throttled
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return vendors.CredentialError
	case status >= 500:
		return vendors.Retryable
	}

	// 404, 405, 413, any other 4xx and a 2xx that is not 200: Herald sent
	// something APNs does not take.
	return vendors.PayloadError
}

func classify400(reason string) vendors.Class {
	switch reason {
	case ReasonBadDeviceToken, ReasonDeviceTokenNotForTopic, ReasonMissingDeviceToken:
		// BadDeviceToken also signals a sandbox/production mix-up: the
		// delivery actor's unbind guard (VENDORS.md §1.6) turns these into
		// credential errors when they dominate a notifier's answers.
		return vendors.TokenInvalid
	case ReasonIdleTimeout:
		return vendors.Retryable
	case ReasonBadTopic, ReasonMissingTopic, ReasonTopicDisallowed:
		return vendors.CredentialError
	}
	return vendors.PayloadError
}

// refreshable reports an auth refusal that a fresh JWT on a fresh connection
// may cure: it is retried once before it counts as a credential error.
func refreshable(status int, reason string) bool {
	if status != http.StatusForbidden {
		return false
	}
	return reason == ReasonExpiredProviderToken || reason == ReasonInvalidProviderToken
}
