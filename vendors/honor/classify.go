package honor

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// codeOK is Honor's success code ("treat as: code 200 is success").
const codeOK = "200"

// answer is Honor's reply: {"code","message","data":{...}}. code is a
// number; text is read too.
type answer struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Data    struct {
		RequestID    string   `json:"requestId"`
		FailTokens   []string `json:"failTokens"`
		ExpireTokens []string `json:"expireTokens"`
	} `json:"data"`
}

// parseAnswer reads a body; an unreadable one gives an empty answer, so
// the HTTP status decides.
func parseAnswer(body []byte) (answer, string) {
	var a answer
	if json.Unmarshal(body, &a) != nil {
		return answer{}, ""
	}
	return a, string(bytes.Trim(a.Code, `"`))
}

// Classify maps one answer about deviceToken to its class (VENDORS.md
// §1.8): with code 200 by the token lists of data (expireTokens,
// failTokens), Huawei's 8xxxxxxx codes as Huawei, else the HTTP status.
func Classify(status int, code string, expireTokens, failTokens []string,
	deviceToken string) vendors.Class {

	if code == codeOK {
		switch {
		case slices.Contains(expireTokens, deviceToken):
			return vendors.TokenInvalid
		case slices.Contains(failTokens, deviceToken):
			return vendors.Retryable
		}
		return vendors.Delivered
	}
	if c, ok := oem.HuaweiCode(code); ok {
		return c
	}
	switch {
	case status == http.StatusServiceUnavailable:
		return vendors.Throttled
	case status == http.StatusOK:
		return vendors.PayloadError // a code §1.8 does not list
	}
	return oem.StatusClass(status)
}

// authRefused reports an answer refusing the access token (80200001
// unknown, 80200003 expired, or a bare 401).
func authRefused(ans oem.Answer) bool {
	_, code := parseAnswer(ans.Body)
	return oem.AuthRefused(ans.Status, code)
}
