package fcm

import (
	"encoding/json"
	"net/http"

	"github.com/herald-im/herald/vendors"
)

// FCM error codes (the errorCode of an FcmError detail) and google.rpc
// statuses Herald branches on (VENDORS.md §1.8).
const (
	CodeUnregistered        = "UNREGISTERED"
	CodeSenderIDMismatch    = "SENDER_ID_MISMATCH"
	CodeInvalidArgument     = "INVALID_ARGUMENT"
	CodeQuotaExceeded       = "QUOTA_EXCEEDED"
	CodeUnavailable         = "UNAVAILABLE"
	CodeInternal            = "INTERNAL"
	CodeUnspecified         = "UNSPECIFIED_ERROR"
	CodeThirdPartyAuthError = "THIRD_PARTY_AUTH_ERROR"

	StatusInvalidArgument   = "INVALID_ARGUMENT"
	StatusUnauthenticated   = "UNAUTHENTICATED"
	StatusPermissionDenied  = "PERMISSION_DENIED"
	StatusResourceExhausted = "RESOURCE_EXHAUSTED"
	StatusUnavailable       = "UNAVAILABLE"
	StatusInternal          = "INTERNAL"
)

// Detail types of an FCM error answer.
const (
	typeFcmError   = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
	typeBadRequest = "type.googleapis.com/google.rpc.BadRequest"
)

// tokenField is the field a BadRequest names when the device token itself
// is wrong.
const tokenField = "message.token"

// Answer is the decoded body of an FCM error answer:
// {"error":{"code","message","status","details":[...]}}.
type Answer struct {
	Status    string // google.rpc status, e.g. "INVALID_ARGUMENT"
	ErrorCode string // errorCode of the FcmError detail, "" if none
	// Fields are the fields of the BadRequest detail's violations.
	Fields []string
}

// ParseAnswer decodes an error body; a body that is not FCM's error JSON
// gives a zero Answer, so the HTTP status alone decides.
func ParseAnswer(body []byte) Answer {
	var doc struct {
		Error struct {
			Status  string `json:"status"`
			Details []struct {
				Type       string `json:"@type"`
				ErrorCode  string `json:"errorCode"`
				Violations []struct {
					Field string `json:"field"`
				} `json:"fieldViolations"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return Answer{}
	}
	a := Answer{Status: doc.Error.Status}
	for _, d := range doc.Error.Details {
		switch d.Type {
		case typeFcmError:
			a.ErrorCode = d.ErrorCode
		case typeBadRequest:
			for _, v := range d.Violations {
				a.Fields = append(a.Fields, v.Field)
			}
		}
	}
	return a
}

// Reason names the answer for logs and results: the FCM error code, else
// the status.
func (a Answer) Reason() string {
	if a.ErrorCode != "" {
		return a.ErrorCode
	}
	return a.Status
}

// Classify maps one FCM answer to its outcome class (VENDORS.md §1.8, fcm
// rows; §1.4 for answers not listed there): the FcmError code first, then
// the status, then the HTTP status. It sees one answer: the single token
// refresh that precedes an auth refusal being final happens in Push.
func Classify(status int, a Answer) vendors.Class {
	if status == http.StatusOK {
		return vendors.Delivered
	}
	if c, ok := classifyCode(a); ok {
		return c
	}
	if c, ok := classifyStatus(a); ok {
		return c
	}

	switch {
	case status >= 500:
		return vendors.Retryable
	case status == http.StatusTooManyRequests:
		return vendors.Throttled
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return vendors.CredentialError
	}
	return vendors.PayloadError
}

func classifyCode(a Answer) (vendors.Class, bool) {
	switch a.ErrorCode {
	case CodeUnregistered, CodeSenderIDMismatch:
		return vendors.TokenInvalid, true
	case CodeInvalidArgument:
		return invalidArgument(a), true
	case CodeQuotaExceeded:
		return vendors.Throttled, true
	case CodeUnavailable, CodeInternal, CodeUnspecified:
		return vendors.Retryable, true
	case CodeThirdPartyAuthError:
		return vendors.CredentialError, true
	}
	return 0, false
}

func classifyStatus(a Answer) (vendors.Class, bool) {
	switch a.Status {
	case StatusInvalidArgument:
		return invalidArgument(a), true
	case StatusUnauthenticated, StatusPermissionDenied:
		return vendors.CredentialError, true
	case StatusResourceExhausted:
		return vendors.Throttled, true
	case StatusUnavailable, StatusInternal:
		return vendors.Retryable, true
	}
	return 0, false
}

// invalidArgument is token-invalid when the refused field is the device
// token, else a payload error (a Herald bug).
func invalidArgument(a Answer) vendors.Class {
	for _, f := range a.Fields {
		if f == tokenField {
			return vendors.TokenInvalid
		}
	}
	return vendors.PayloadError
}

// refreshable reports an auth refusal that a fresh access token may cure:
// a plain 401 without an FCM error code (THIRD_PARTY_AUTH_ERROR is about
// the app's APNs credential, which no new token fixes).
func refreshable(status int, a Answer) bool {
	return status == http.StatusUnauthorized && a.ErrorCode == ""
}
