package honor

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Limits of VENDORS.md §2.4 ("limits as huawei").
const (
	// MaxPayload bounds the request body without its tokens, in bytes.
	MaxPayload = 4096
	// TTL is how long Honor keeps an undelivered push.
	TTL = "86400s"
	// MaxBadge is the largest badge number Honor shows (set_num 0-99).
	MaxBadge = 99
)

// Importance values of android.notification.importance; LOW marks a
// marketing message.
const (
	ImportanceNormal = "NORMAL"
	ImportanceLow    = "LOW"
)

var (
	// ErrPayloadTooLarge: the custom data does not fit MaxPayload.
	ErrPayloadTooLarge = fmt.Errorf("honor: %w", vendors.ErrPayloadTooLarge)
	// ErrBadCustom: the custom data is not a JSON object.
	ErrBadCustom = fmt.Errorf("honor: %w", vendors.ErrBadCustom)
	// ErrBadDeviceToken: the token is empty or cannot be sent.
	ErrBadDeviceToken = fmt.Errorf("honor: %w", vendors.ErrBadDeviceToken)
)

// Option keys of em_android_push_ext read here (SPEC.md §7.1).
const (
	optClickAction    = "honor_click_action"
	optImportance     = "honor_importance"
	optTargetUserType = "honor_target_user_type"
	optLegacyBadge    = "em_huawei_push_badge_class"
)

// sendRequest is the body of POST /api/v1/<app_id>/sendMessage: camelCase
// fields at the top level.
type sendRequest struct {
	Data    string  `json:"data,omitempty"`
	Android android `json:"android"`
}

type android struct {
	TTL            string       `json:"ttl"`
	TargetUserType int64        `json:"targetUserType"`
	Notification   notification `json:"notification"`
}

type notification struct {
	Title       string          `json:"title"`
	Body        string          `json:"body"`
	ClickAction json.RawMessage `json:"clickAction"`
	Importance  string          `json:"importance"`
	Badge       *badge          `json:"badge,omitempty"`
	Tag         string          `json:"tag,omitempty"`
}

type badge struct {
	BadgeClass string `json:"badgeClass"`
	SetNum     int64  `json:"setNum"`
}

// BuildBody renders n as the JSON body of one send to deviceToken (SPEC.md
// §10, VENDORS.md §2.4). It is pure. Text that makes the body (without its
// token) exceed MaxPayload is cut, content first, then title; custom data
// that does not fit alone gives ErrPayloadTooLarge.
func BuildBody(n *messages.Notification, c *Credentials, deviceToken string) ([]byte, error) {
	if n == nil || c == nil {
		return nil, errors.New("honor: build body: nil notification or credentials")
	}
	data, err := oem.CustomText(n.Custom)
	if err != nil {
		return nil, ErrBadCustom
	}

	req := sendRequest{Data: data, Android: androidOptions(n, c)}
	body, err := oem.Fit(n.Title, n.Body, MaxPayload, func(title, text string) ([]byte, error) {
		req.Android.Notification.Title = title
		req.Android.Notification.Body = text
		return json.Marshal(req)
	})
	if errors.Is(err, oem.ErrTooLarge) {
		return nil, ErrPayloadTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("honor: encode body: %w", err)
	}
	return withToken(body, deviceToken)
}

// withToken puts the one-token array first into the body, which was
// measured without it as Honor does.
func withToken(body []byte, deviceToken string) ([]byte, error) {
	if len(body) < 2 || body[0] != '{' {
		return nil, errors.New("honor: encode body: unexpected layout")
	}
	tok, err := json.Marshal([]string{deviceToken})
	if err != nil {
		return nil, fmt.Errorf("honor: encode token: %w", err)
	}
	out := make([]byte, 0, len(body)+len(tok)+10)
	out = append(out, `{"token":`...)
	out = append(out, tok...)
	out = append(out, ',')
	return append(out, body[1:]...), nil
}

// androidOptions fills android.* from the notification, its Android
// options and the notifier defaults, ext keys first (SPEC.md §7.1, §10).
func androidOptions(n *messages.Notification, c *Credentials) android {
	o := oem.ParseOptions(n.AndroidExt)
	a := android{TTL: TTL}
	if t, ok := o.Int(optTargetUserType); ok && (t == 0 || t == 1) {
		a.TargetUserType = t
	}

	note := &a.Notification
	note.Importance = ImportanceNormal
	if o.String(optImportance) == ImportanceLow {
		note.Importance = ImportanceLow
	}
	note.Tag = n.CollapseKey
	if obj := o.Object(optClickAction); obj != nil {
		note.ClickAction = obj
	} else {
		note.ClickAction = oem.ClickAction(o.First([]string{optClickAction}, c.ClickAction))
	}
	class := o.First([]string{optLegacyBadge}, c.BadgeClass)
	if n.HasBadge && class != "" {
		note.Badge = &badge{BadgeClass: class, SetNum: min(max(n.Badge, 0), MaxBadge)}
	}
	return a
}
