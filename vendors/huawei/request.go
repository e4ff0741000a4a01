package huawei

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Limits of VENDORS.md §2.3.
const (
	// MaxPayload bounds the request body without its tokens, in bytes.
	MaxPayload = 4096
	// TTL is how long Huawei keeps an undelivered push ("1296000s" at
	// most). A day, as FCM's.
	TTL = "86400s"
	// MaxBadge is the largest badge number Huawei shows (set_num 0-99).
	MaxBadge = 99
)

// Urgencies of android.urgency.
const (
	UrgencyHigh   = "HIGH"
	UrgencyNormal = "NORMAL"
)

var (
	// ErrPayloadTooLarge: the custom data does not fit MaxPayload.
	ErrPayloadTooLarge = fmt.Errorf("huawei: %w", vendors.ErrPayloadTooLarge)
	// ErrBadCustom: the custom data is not a JSON object.
	ErrBadCustom = fmt.Errorf("huawei: %w", vendors.ErrBadCustom)
	// ErrBadDeviceToken: the token is empty or cannot be sent.
	ErrBadDeviceToken = fmt.Errorf("huawei: %w", vendors.ErrBadDeviceToken)
)

// Option keys of em_android_push_ext read here (SPEC.md §7.1).
const (
	optTargetUserType = "huawei_target_user_type"
	optCategory       = "huawei_category"
	optReceiptID      = "huawei_receipt_id"
	optClickAction    = "huawei_click_action"
	optChannelID      = "huawei_channel_id"
	optLegacyChannel  = "em_push_channel_id"
	optLegacyBadge    = "em_huawei_push_badge_class"
	optLegacySound    = "em_push_sound"
)

// sendRequest is the body of POST /v2/<project_id>/messages:send.
type sendRequest struct {
	ValidateOnly bool    `json:"validate_only"`
	Message      message `json:"message"`
}

type message struct {
	Token   []string `json:"token,omitempty"`
	Data    string   `json:"data,omitempty"`
	Android android  `json:"android"`
}

type android struct {
	Urgency        string       `json:"urgency"`
	Category       string       `json:"category,omitempty"`
	TTL            string       `json:"ttl"`
	TargetUserType int64        `json:"target_user_type"`
	ReceiptID      string       `json:"receipt_id,omitempty"`
	Notification   notification `json:"notification"`
}

type notification struct {
	Title        string          `json:"title"`
	Body         string          `json:"body"`
	ClickAction  json.RawMessage `json:"click_action"`
	ChannelID    string          `json:"channel_id,omitempty"`
	Sound        string          `json:"sound,omitempty"`
	DefaultSound bool            `json:"default_sound"`
	Badge        *badge          `json:"badge,omitempty"`
	Tag          string          `json:"tag,omitempty"`
}

type badge struct {
	Class  string `json:"class"`
	SetNum int64  `json:"set_num"`
}

// BuildBody renders n as the JSON body of one send to deviceToken (SPEC.md
// §10, VENDORS.md §2.3). It is pure. Text that makes the body (without its
// token) exceed MaxPayload is cut, content first, then title; custom data
// that does not fit alone gives ErrPayloadTooLarge.
func BuildBody(n *messages.Notification, c *Credentials, deviceToken string) ([]byte, error) {
	if n == nil || c == nil {
		return nil, errors.New("huawei: build body: nil notification or credentials")
	}
	data, err := oem.CustomText(n.Custom)
	if err != nil {
		return nil, ErrBadCustom
	}

	req := sendRequest{Message: message{Data: data, Android: androidOptions(n, c)}}
	body, err := oem.Fit(n.Title, n.Body, MaxPayload, func(title, text string) ([]byte, error) {
		req.Message.Android.Notification.Title = title
		req.Message.Android.Notification.Body = text
		return json.Marshal(req)
	})
	if errors.Is(err, oem.ErrTooLarge) {
		return nil, ErrPayloadTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("huawei: encode body: %w", err)
	}
	return withToken(body, deviceToken)
}

// bodyPrefix is how every encoded sendRequest begins; the token array
// goes right after it, so the size check above measured the body
// without tokens as Huawei does.
const bodyPrefix = `{"validate_only":false,"message":{`

// withToken puts the one-token array first into the message.
func withToken(body []byte, deviceToken string) ([]byte, error) {
	if len(body) <= len(bodyPrefix) || string(body[:len(bodyPrefix)]) != bodyPrefix {
		return nil, errors.New("huawei: encode body: unexpected layout")
	}
	tok, err := json.Marshal([]string{deviceToken})
	if err != nil {
		return nil, fmt.Errorf("huawei: encode token: %w", err)
	}
	out := make([]byte, 0, len(body)+len(tok)+10)
	out = append(out, bodyPrefix...)
	out = append(out, `"token":`...)
	out = append(out, tok...)
	out = append(out, ',')
	return append(out, body[len(bodyPrefix):]...), nil
}

// androidOptions fills android.* from the notification, its Android
// options and the notifier defaults, ext keys first (SPEC.md §7.1, §10).
func androidOptions(n *messages.Notification, c *Credentials) android {
	o := oem.ParseOptions(n.AndroidExt)
	a := android{
		Urgency:   UrgencyNormal,
		Category:  o.First([]string{optCategory}, c.Category),
		TTL:       TTL,
		ReceiptID: o.String(optReceiptID),
	}
	// HIGH urgency needs a message category Huawei granted the app;
	// without one it is refused with 80300011.
	if a.Category != "" {
		a.Urgency = UrgencyHigh
	}
	if t, ok := o.Int(optTargetUserType); ok && (t == 0 || t == 1) {
		a.TargetUserType = t
	}

	note := &a.Notification
	note.ClickAction = clickAction(o, c)
	note.ChannelID = o.First([]string{optChannelID, optLegacyChannel}, c.ChannelID)
	note.Tag = n.CollapseKey
	if s := o.String(optLegacySound); s != "" {
		note.Sound = s
	} else {
		note.DefaultSound = true
	}
	// Huawei shows a badge only for the app's entry activity class.
	class := o.First([]string{optLegacyBadge}, c.BadgeClass)
	if n.HasBadge && class != "" {
		note.Badge = &badge{Class: class, SetNum: min(max(n.Badge, 0), MaxBadge)}
	}
	return a
}

// clickAction is the ext's click action (an object as given, or text),
// else the notifier's, else its activity, else "open the app".
func clickAction(o oem.Options, c *Credentials) json.RawMessage {
	if obj := o.Object(optClickAction); obj != nil {
		return obj
	}
	if s := o.First([]string{optClickAction}, c.ClickAction); s != "" {
		return oem.ClickAction(s)
	}
	if c.Activity != "" {
		return oem.ClickAction(oem.ActivityIntent(c.PackageName, c.Activity))
	}
	return oem.ClickAction("")
}
