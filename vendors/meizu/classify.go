package meizu

import (
	"net/http"

	"github.com/herald-im/herald/vendors"
)

// Meizu answer codes (VENDORS.md §1.8); code is a string on the wire.
const (
	CodeOK = "200"
	// CodeBusy and CodeServerError are transient.
	CodeBusy        = "1001"
	CodeServerError = "500"
	// CodeThrottled: the app is sending too often.
	CodeThrottled = "1003"
	// CodeBadSign: the signature does not match the app secret.
	CodeBadSign = "1006"
	// CodeBadParam: a parameter is missing or malformed.
	CodeBadParam = "1005"
	// CodeBadAppID: the appId is unknown.
	CodeBadAppID = "110000"
	// CodeUnsubscribed and CodeBadPushID list dead pushIds in value
	// (treat as).
	CodeUnsubscribed = "110002"
	CodeBadPushID    = "110003"
)

// Classify maps one whole-request answer to its class: the HTTP status
// and, for status 200, the string code. A "200" answer still has to be
// checked per pushId with ClassifyPushID.
func Classify(status int, code string) vendors.Class {
	switch {
	case status >= 500:
		return vendors.Retryable
	case status == http.StatusTooManyRequests:
		return vendors.Throttled
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return vendors.CredentialError
	case status != http.StatusOK:
		return vendors.PayloadError
	}

	switch code {
	case CodeOK:
		return vendors.Delivered
	case CodeBusy, CodeServerError:
		return vendors.Retryable
	case CodeThrottled:
		return vendors.Throttled
	case CodeBadSign, CodeBadAppID, "110001", "110009":
		return vendors.CredentialError
	}
	return vendors.PayloadError // "1005", "110004" and unknown codes
}

// ClassifyPushID finds pushID in the value of a "200" answer, which maps
// failure codes to the pushIds they apply to. It returns Delivered and ""
// when pushID is not listed.
func ClassifyPushID(value map[string][]string, pushID string) (vendors.Class, string) {
	for code, ids := range value {
		for _, id := range ids {
			if id != pushID {
				continue
			}
			if code == CodeUnsubscribed || code == CodeBadPushID {
				return vendors.TokenInvalid, code
			}
			return vendors.PayloadError, code
		}
	}
	return vendors.Delivered, ""
}
