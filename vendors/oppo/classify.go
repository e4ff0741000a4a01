package oppo

import (
	"net/http"

	"github.com/herald-im/herald/vendors"
)

// OPPO answer codes Herald branches on (VENDORS.md §1.8).
const (
	CodeOK           = 0
	CodeBusy         = -1    // service busy: retry
	CodeOverLimit    = -2    // over the request rate
	CodeBadAuthToken = 11    // auth_token unknown or expired: refresh once
	CodeDailyCap     = 33    // daily quota spent: pause until 00:00 Asia/Shanghai
	CodeInvalidRegID = 10000 // regId unknown or unregistered
)

// codeClass holds every code §1.8 names other than 0.
var codeClass = map[int]vendors.Class{
	CodeBusy: vendors.Retryable,

	CodeOverLimit: vendors.Throttled, 13: vendors.Throttled, 55: vendors.Throttled,
	CodeDailyCap: vendors.Throttled,

	CodeInvalidRegID: vendors.TokenInvalid,

	CodeBadAuthToken: vendors.CredentialError, 14: vendors.CredentialError,
	15: vendors.CredentialError, 16: vendors.CredentialError, 17: vendors.CredentialError,
	18: vendors.CredentialError, 19: vendors.CredentialError, 26: vendors.CredentialError,
	27: vendors.CredentialError, 28: vendors.CredentialError, 29: vendors.CredentialError,
	30: vendors.CredentialError,
}

// Classify maps an answer to its class: HTTP status first, then the code
// of a 200. parsed is false when the body carried no code. Codes not in
// the table (12, 20-25, 31, … and unknown ones) are payload-errors.
func Classify(status, code int, parsed bool) vendors.Class {
	switch {
	case status >= 500:
		return vendors.Retryable
	case status == http.StatusTooManyRequests:
		return vendors.Throttled
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return vendors.CredentialError
	case status != http.StatusOK || !parsed:
		return vendors.PayloadError
	case code == CodeOK:
		return vendors.Delivered
	}
	if c, ok := codeClass[code]; ok {
		return c
	}
	return vendors.PayloadError
}
