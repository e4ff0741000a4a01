package meizu

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Limits of a Meizu message (VENDORS.md §2.8), in characters.
const (
	MaxTitle   = 32
	MaxContent = 100
	// MaxMessageJSON is the largest messageJson Herald sends (treat as;
	// Meizu publishes no figure): custom data that does not fit is a
	// payload error without a request.
	MaxMessageJSON = 4096
)

// Fixed values Herald sends (SPEC.md §10).
const (
	noticeBarDefault = 0
	clickOpenApp     = 0
	clickActivity    = 1
	offLineKeep      = 1
	validHours       = 24
)

// Errors BuildRequest returns; the push fails without a request.
var (
	ErrPayloadTooLarge = fmt.Errorf("meizu: %w", vendors.ErrPayloadTooLarge)
	ErrBadCustom       = fmt.Errorf("meizu: %w", vendors.ErrBadCustom)
	ErrBadDeviceToken  = fmt.Errorf("meizu: %w", vendors.ErrBadDeviceToken)
)

// message is the messageJson parameter.
type message struct {
	NoticeBarInfo noticeBarInfo `json:"noticeBarInfo"`
	ClickTypeInfo clickTypeInfo `json:"clickTypeInfo"`
	PushTimeInfo  pushTimeInfo  `json:"pushTimeInfo"`
	AdvanceInfo   advanceInfo   `json:"advanceInfo"`
}

type noticeBarInfo struct {
	NoticeBarType int    `json:"noticeBarType"`
	Title         string `json:"title"`
	Content       string `json:"content"`
	NoticeMsgType int    `json:"noticeMsgType"`
}

type clickTypeInfo struct {
	ClickType  int               `json:"clickType"`
	Activity   string            `json:"activity,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

type pushTimeInfo struct {
	OffLine   int `json:"offLine"`
	ValidTime int `json:"validTime"`
}

type advanceInfo struct {
	NotificationType notificationType `json:"notificationType"`
}

type notificationType struct {
	Vibrate int `json:"vibrate"`
	Lights  int `json:"lights"`
	Sound   int `json:"sound"`
}

// BuildForm renders n for one device as the signed form of a
// pushByPushId request (SPEC.md §10, VENDORS.md §2.8). It is pure. Text is
// cut at a character boundary to Meizu's limits; custom data that makes
// messageJson too large gives ErrPayloadTooLarge.
func BuildForm(n *messages.Notification, c *Credentials, pushID string) (url.Values, error) {
	if n == nil || c == nil {
		return nil, errors.New("meizu: build request: nil notification or credentials")
	}
	if !validPushID(pushID) {
		return nil, ErrBadDeviceToken
	}
	params, err := customStrings(n.Custom)
	if err != nil {
		return nil, err
	}
	ext := readExt(n.AndroidExt)

	msg := message{
		NoticeBarInfo: noticeBarInfo{
			NoticeBarType: noticeBarDefault,
			Title:         CutChars(n.Title, MaxTitle),
			Content:       CutChars(n.Body, MaxContent),
			NoticeMsgType: c.NoticeType,
		},
		ClickTypeInfo: clickTypeInfo{ClickType: clickOpenApp, Parameters: params},
		PushTimeInfo:  pushTimeInfo{OffLine: offLineKeep, ValidTime: validHours},
		AdvanceInfo: advanceInfo{
			NotificationType: notificationType{Vibrate: 1, Lights: 1, Sound: 1},
		},
	}
	if ext.noticeType != nil {
		msg.NoticeBarInfo.NoticeMsgType = *ext.noticeType
	}
	if act := firstOf(ext.clickActivity, c.ClickActivity); act != "" {
		msg.ClickTypeInfo.ClickType, msg.ClickTypeInfo.Activity = clickActivity, act
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("meizu: encode message: %w", err)
	}
	mj := strings.TrimRight(buf.String(), "\n")
	if len(mj) > MaxMessageJSON {
		return nil, ErrPayloadTooLarge
	}

	form := url.Values{"appId": {c.AppID}, "pushIds": {pushID}, "messageJson": {mj}}
	form.Set("sign", Sign(form, c.AppSecret))
	return form, nil
}

// Sign is Meizu's request signature: lowercase hex MD5 of every parameter
// but sign as key=value, sorted by key, with no separator, followed by the
// app secret.
func Sign(params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)

	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params.Get(k))
	}
	b.WriteString(secret)
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// validPushID refuses tokens that cannot be one entry of the comma list.
func validPushID(tok string) bool {
	if tok == "" || len(tok) > 256 || !utf8.ValidString(tok) {
		return false
	}
	for _, r := range tok {
		if r <= ' ' || r == 0x7f || r == ',' {
			return false
		}
	}
	return true
}

// CutChars shortens s to at most max characters.
func CutChars(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}

// customStrings turns the custom JSON object into the click parameters:
// string values as they are, others as their JSON text.
func customStrings(custom []byte) (map[string]string, error) {
	if len(bytes.TrimSpace(custom)) == 0 {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(custom, &obj); err != nil || obj == nil {
		return nil, ErrBadCustom
	}
	out := make(map[string]string, len(obj))
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
	}
	return out, nil
}

// extOptions are the em_android_push_ext keys Meizu reads (SPEC.md §7.1).
type extOptions struct {
	clickActivity string
	noticeType    *int
}

// readExt picks Meizu's keys out of em_android_push_ext; meizu_notice_type
// may be 0/1 as a number or a string, other values are ignored.
func readExt(raw []byte) extOptions {
	var ext struct {
		ClickActivity any `json:"meizu_click_activity"`
		NoticeType    any `json:"meizu_notice_type"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &ext) != nil {
		return extOptions{}
	}
	var out extOptions
	out.clickActivity, _ = ext.ClickActivity.(string)
	switch ext.NoticeType {
	case float64(0), "0":
		v := NoticePublic
		out.noticeType = &v
	case float64(1), "1":
		v := NoticePrivate
		out.noticeType = &v
	}
	return out
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
