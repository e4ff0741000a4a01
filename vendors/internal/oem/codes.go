package oem

import (
	"net/http"

	"github.com/herald-im/herald/vendors"
)

// Huawei result codes (VENDORS.md §1.8). Honor answers its 8xxxxxxx codes
// with the same meaning.
const (
	CodeSuccess        = "80000000"
	CodePartial        = "80100000" // some tokens refused: msg lists them
	CodeBadParams      = "80100001"
	CodeBadToken       = "80300007" // every token invalid, or of another app
	CodeAuthUnknown    = "80200001" // access token unknown
	CodeAuthExpired    = "80200003" // access token expired
	CodeAuthFailed     = "80200005"
	CodeNoPermission   = "80300002"
	CodeBadStructure   = "80100003"
	CodeBadTTL         = "80100004"
	CodeCollapseKey    = "80100013"
	CodeSensitive      = "80100016"
	CodeFlowControl    = "80100017"
	CodeTooLarge       = "80300008"
	CodeTooManyTokens  = "80300010"
	CodeHighNoCategory = "80300011"
	CodeOverloaded     = "80600003"
	CodeInternal       = "81000001"
)

// huaweiCodes maps the result codes of §1.8 to their class. The two
// partial or token-level codes are handled by the caller per token.
var huaweiCodes = map[string]vendors.Class{
	CodeSuccess:        vendors.Delivered,
	CodeBadToken:       vendors.TokenInvalid,
	CodeInternal:       vendors.Retryable,
	CodeOverloaded:     vendors.Retryable,
	CodeFlowControl:    vendors.Throttled,
	CodeAuthUnknown:    vendors.CredentialError,
	CodeAuthExpired:    vendors.CredentialError,
	CodeAuthFailed:     vendors.CredentialError,
	CodeNoPermission:   vendors.CredentialError,
	CodeBadParams:      vendors.PayloadError,
	CodeBadStructure:   vendors.PayloadError,
	CodeBadTTL:         vendors.PayloadError,
	CodeCollapseKey:    vendors.PayloadError,
	CodeSensitive:      vendors.PayloadError,
	CodeTooLarge:       vendors.PayloadError,
	CodeTooManyTokens:  vendors.PayloadError,
	CodeHighNoCategory: vendors.PayloadError,
}

// HuaweiCode is the class of a Huawei result code, false when the code
// is not one of §1.8.
func HuaweiCode(code string) (vendors.Class, bool) {
	c, ok := huaweiCodes[code]
	return c, ok
}

// AuthRefused reports an answer that refused the access token as unknown
// or expired: the client fetches a new one and sends once more (§1.2).
func AuthRefused(status int, code string) bool {
	return code == CodeAuthUnknown || code == CodeAuthExpired ||
		(status == http.StatusUnauthorized && code == "")
}

// StatusClass is the class of an HTTP status without a known code, by the
// rules for unlisted answers of §1.4.
func StatusClass(status int) vendors.Class {
	switch {
	case status == http.StatusTooManyRequests:
		return vendors.Throttled
	case status >= 500:
		return vendors.Retryable
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return vendors.CredentialError
	}
	return vendors.PayloadError
}
