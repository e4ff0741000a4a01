package huawei

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// answer is Huawei's reply to a send: {"code","msg","requestId"}. code is
// text; a number is read too.
type answer struct {
	Code      json.RawMessage `json:"code"`
	Msg       string          `json:"msg"`
	RequestID string          `json:"requestId"`
}

// partial is the msg text of a partial success (80100000).
type partial struct {
	IllegalTokens []string `json:"illegal_tokens"`
}

// parseAnswer reads the code and request id of a body; an unreadable body
// gives empty ones, so the HTTP status decides.
func parseAnswer(body []byte) (code, msg, requestID string) {
	var a answer
	if json.Unmarshal(body, &a) != nil {
		return "", "", ""
	}
	return string(bytes.Trim(a.Code, `"`)), a.Msg, a.RequestID
}

// Classify maps one answer about deviceToken to its class (VENDORS.md
// §1.8): the result code first, the HTTP status when the code is unknown.
func Classify(status int, code, msg, deviceToken string) vendors.Class {
	if code == oem.CodePartial {
		var p partial
		if json.Unmarshal([]byte(msg), &p) == nil && slices.Contains(p.IllegalTokens, deviceToken) {
			return vendors.TokenInvalid
		}
		return vendors.Delivered
	}
	if c, ok := oem.HuaweiCode(code); ok {
		return c
	}
	switch status {
	case http.StatusServiceUnavailable:
		return vendors.Throttled // Huawei's flow control
	case http.StatusOK:
		return vendors.PayloadError // a code §1.8 does not list
	}
	return oem.StatusClass(status)
}

// authRefused reports an answer refusing the access token (80200001
// unknown, 80200003 expired, or a bare 401).
func authRefused(a oem.Answer) bool {
	code, _, _ := parseAnswer(a.Body)
	return oem.AuthRefused(a.Status, code)
}
