package vivo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Limits of a vivo message (VENDORS.md §2.7). Text is measured in units:
// a CJK character counts 2, anything else 1.
const (
	MaxTitleUnits   = 40
	MaxContentUnits = 100
	// MaxRequestID is the longest requestId vivo takes.
	MaxRequestID = 64
	// Treat as: clientCustomMap holds at most 10 pairs whose keys and
	// values together are at most 1024 characters.
	MaxCustomPairs = 10
	MaxCustomChars = 1024
)

// Fixed values Herald sends (SPEC.md §10).
const (
	notifyBoth     = 4     // sound and vibration
	timeToLive     = 86400 // seconds
	skipOpenApp    = 1
	skipActivity   = 4
	classSystem    = 1
	classOperation = 0
	pushModeLive   = 0 // 1 is vivo's test mode
)

// Errors BuildRequest returns; the push is a payload error without a
// request.
var (
	ErrPayloadTooLarge = fmt.Errorf("vivo: %w", vendors.ErrPayloadTooLarge)
	ErrBadCustom       = fmt.Errorf("vivo: %w", vendors.ErrBadCustom)
	ErrBadDeviceToken  = fmt.Errorf("vivo: %w", vendors.ErrBadDeviceToken)
)

// sendRequest is the JSON body of POST /message/send.
type sendRequest struct {
	AppID           string            `json:"appId"`
	RegID           string            `json:"regId"`
	NotifyType      int               `json:"notifyType"`
	Title           string            `json:"title"`
	Content         string            `json:"content"`
	TimeToLive      int               `json:"timeToLive"`
	SkipType        int               `json:"skipType"`
	SkipContent     string            `json:"skipContent,omitempty"`
	Classification  int               `json:"classification"`
	Category        string            `json:"category,omitempty"`
	RequestID       string            `json:"requestId"`
	PushMode        int               `json:"pushMode"`
	ClientCustomMap map[string]string `json:"clientCustomMap,omitempty"`
}

// BuildRequest renders n for one device as the JSON body of a send
// request (SPEC.md §10, VENDORS.md §2.7). It is pure. Too-long text is cut
// at a character boundary to vivo's unit limits; custom data over vivo's
// clientCustomMap limits gives ErrPayloadTooLarge.
func BuildRequest(n *messages.Notification, c *Credentials, regID, requestID string) (
	[]byte, error) {

	if n == nil || c == nil {
		return nil, errors.New("vivo: build request: nil notification or credentials")
	}
	if !validRegID(regID) {
		return nil, ErrBadDeviceToken
	}
	custom, err := customStrings(n.Custom)
	if err != nil {
		return nil, err
	}
	ext := readExt(n.AndroidExt)

	req := sendRequest{
		AppID:           c.AppID,
		RegID:           regID,
		NotifyType:      notifyBoth,
		Title:           CutUnits(n.Title, MaxTitleUnits),
		Content:         CutUnits(n.Body, MaxContentUnits),
		TimeToLive:      timeToLive,
		SkipType:        skipOpenApp,
		Classification:  classSystem,
		Category:        firstOf(ext.category, c.Category),
		RequestID:       RequestID(requestID, n, regID),
		PushMode:        pushModeLive,
		ClientCustomMap: custom,
	}
	if act := firstOf(ext.clickActivity, c.ClickActivity); act != "" {
		req.SkipType, req.SkipContent = skipActivity, act
	}
	if c.PushType == PushTypeOperation {
		req.Classification = classOperation
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return nil, fmt.Errorf("vivo: encode request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// validRegID refuses tokens that cannot be a vivo regId.
func validRegID(tok string) bool {
	if tok == "" || len(tok) > 256 || !utf8.ValidString(tok) {
		return false
	}
	for _, r := range tok {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// Units is the length of s as vivo counts it: 2 per CJK character, 1 per
// other character.
func Units(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

// runeUnits counts CJK scripts, kana, Hangul and full-width forms (from
// the CJK radicals block up) as 2.
func runeUnits(r rune) int {
	if r >= 0x2E80 {
		return 2
	}
	return 1
}

// CutUnits shortens s to at most max units at a character boundary.
func CutUnits(s string, max int) string {
	n := 0
	for i, r := range s {
		n += runeUnits(r)
		if n > max {
			return s[:i]
		}
	}
	return s
}

// RequestID is the requestId of a push: the caller's id when it fits
// vivo's 64 characters, the SHA-256 hex of a longer one, and for an empty
// one (the preview) an id derived from the collapse key and the token, so
// a retry always carries the same id.
func RequestID(requestID string, n *messages.Notification, regID string) string {
	switch {
	case requestID != "" && len(requestID) <= MaxRequestID:
		return requestID
	case requestID != "":
		sum := sha256.Sum256([]byte(requestID))
		return hex.EncodeToString(sum[:])
	}
	h := sha256.New()
	h.Write([]byte("herald vivo requestId\x00"))
	if n != nil {
		h.Write([]byte(n.CollapseKey))
	}
	h.Write([]byte{0})
	h.Write([]byte(regID))
	return hex.EncodeToString(h.Sum(nil))[:MaxRequestID/2]
}

// customStrings turns the custom JSON object into clientCustomMap: string
// values as they are, others as their JSON text (e is an object).
func customStrings(custom []byte) (map[string]string, error) {
	if len(bytes.TrimSpace(custom)) == 0 {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(custom, &obj); err != nil || obj == nil {
		return nil, ErrBadCustom
	}
	if len(obj) > MaxCustomPairs {
		return nil, ErrPayloadTooLarge
	}

	out := make(map[string]string, len(obj))
	chars := 0
	for k, raw := range obj {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, ErrBadCustom
			}
			s = buf.String()
		}
		out[k] = s
		chars += utf8.RuneCountInString(k) + utf8.RuneCountInString(s)
	}
	if chars > MaxCustomChars {
		return nil, ErrPayloadTooLarge
	}
	return out, nil
}

// extOptions are the em_android_push_ext keys vivo reads (SPEC.md §7.1).
type extOptions struct {
	category      string
	clickActivity string
}

// readExt picks vivo's keys out of the compact em_android_push_ext JSON;
// absent, malformed or non-string values are ignored.
func readExt(raw []byte) extOptions {
	var ext struct {
		Category      any `json:"vivo_category"`
		ClickActivity any `json:"vivo_click_activity"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &ext) != nil {
		return extOptions{}
	}
	cat, _ := ext.Category.(string)
	act, _ := ext.ClickActivity.(string)
	return extOptions{category: cat, clickActivity: act}
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
