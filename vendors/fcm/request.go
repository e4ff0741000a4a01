package fcm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// MaxPayload is FCM's limit on a message sent to a device, in bytes.
// Treat as: the request body less the device token, so the limit does not
// depend on how long a token is. vendorsim counts the same way.
const MaxPayload = 4096

// TTL is how long FCM keeps a push for an offline device: one day, as
// chat notifications older than that are noise.
const TTL = "86400s"

// Errors BuildRequest returns; callers branch on them with errors.Is.
var (
	// ErrPayloadTooLarge: the custom data alone does not fit MaxPayload.
	ErrPayloadTooLarge = fmt.Errorf("fcm: %w", vendors.ErrPayloadTooLarge)
	// ErrBadCustom: the notification's custom data is not a JSON object.
	ErrBadCustom = fmt.Errorf("fcm: %w", vendors.ErrBadCustom)
	// ErrBadDeviceToken: the device token is empty or too long.
	ErrBadDeviceToken = fmt.Errorf("fcm: %w", vendors.ErrBadDeviceToken)
)

// maxDeviceToken bounds a device token; FCM's are about 160 characters.
const maxDeviceToken = 4096

// Android ext keys FCM reads (SPEC.md §7.1).
const (
	extOptions       = "fcm_options"
	extChannelID     = "fcm_channel_id"
	extLegacyChannel = "em_push_channel_id"
	extLegacySound   = "em_push_sound"
)

// sendRequest is the body of messages:send. Field order is the order on
// the wire.
type sendRequest struct {
	Message message `json:"message"`
}

type message struct {
	Token        string            `json:"token"`
	Notification *notification     `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	Android      android           `json:"android"`
	FCMOptions   json.RawMessage   `json:"fcm_options,omitempty"`
}

type notification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

type android struct {
	CollapseKey  string              `json:"collapse_key,omitempty"`
	Priority     string              `json:"priority"`
	TTL          string              `json:"ttl"`
	Notification androidNotification `json:"notification"`
}

type androidNotification struct {
	Sound             string `json:"sound"`
	ChannelID         string `json:"channel_id,omitempty"`
	NotificationCount *int32 `json:"notification_count,omitempty"`
	Tag               string `json:"tag,omitempty"`
}

// BuildRequest renders n for deviceToken as the JSON body of one
// messages:send request (SPEC.md §10, VENDORS.md §2.2). It is pure: the
// same input gives the same bytes.
//
// Text that does not fit MaxPayload is cut at a character boundary, body
// first, then title; custom data that does not fit on its own gives
// ErrPayloadTooLarge.
func BuildRequest(n *messages.Notification, c *Credentials, deviceToken string) ([]byte, error) {
	if n == nil || c == nil {
		return nil, errors.New("fcm: build request: nil notification or credentials")
	}
	if deviceToken == "" || len(deviceToken) > maxDeviceToken {
		return nil, ErrBadDeviceToken
	}
	data, err := customData(n.Custom)
	if err != nil {
		return nil, err
	}
	opts := readAndroidExt(n.AndroidExt)

	m := message{
		Token: deviceToken,
		Data:  data,
		Android: android{
			Priority: c.Priority,
			TTL:      TTL,
			Notification: androidNotification{
				Sound:     firstOf(opts.sound, n.Sound, c.Sound, "default"),
				ChannelID: firstOf(opts.channelID, opts.legacyChannel, c.ChannelID),
				Tag:       n.CollapseKey,
			},
		},
		FCMOptions: opts.fcmOptions,
	}
	if m.Android.Priority == "" {
		m.Android.Priority = PriorityHigh
	}
	if n.ExplicitCollapseKey {
		m.Android.CollapseKey = n.CollapseKey
	}
	if n.HasBadge {
		count := int32(min(max(n.Badge, 0), math.MaxInt32))
		m.Android.Notification.NotificationCount = &count
	}
	return fit(m, n.Title, n.Body, len(deviceToken))
}

// fit encodes m with the longest title and body that keep the payload
// within MaxPayload: the body is cut first, then the title.
func fit(m message, title, body string, tokenLen int) ([]byte, error) {
	render := func(t, b string) []byte {
		m.Notification = nil
		if t != "" || b != "" {
			m.Notification = &notification{Title: t, Body: b}
		}
		out, _ := json.Marshal(sendRequest{Message: m}) // plain strings and maps
		return out
	}
	fits := func(t, b string) bool { return len(render(t, b))-tokenLen <= MaxPayload }

	if fits(title, body) {
		return render(title, body), nil
	}
	if !fits("", "") {
		return nil, ErrPayloadTooLarge
	}
	if fits(title, "") {
		body = longestPrefix(body, func(s string) bool { return fits(title, s) })
		return render(title, body), nil
	}
	title = longestPrefix(title, func(s string) bool { return fits(s, "") })
	return render(title, ""), nil
}

// longestPrefix finds the longest prefix of s, cut at a rune boundary,
// for which ok holds. ok must hold for "" and, once false, stay false for
// longer prefixes.
func longestPrefix(s string, ok func(string) bool) string {
	ends := []int{0}
	for i := range s {
		if i > 0 {
			ends = append(ends, i)
		}
	}
	ends = append(ends, len(s))

	lo, hi := 0, len(ends)-1 // ends[lo] is known to fit
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ok(s[:ends[mid]]) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return s[:ends[lo]]
}

// customData turns the custom JSON object (keys f, t, m, g, e) into FCM
// data, whose values must be strings: strings go as they are, anything
// else (the e object) as its compact JSON text.
func customData(raw []byte) (map[string]string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, ErrBadCustom
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrBadCustom // something follows the object
	}

	out := make(map[string]string, len(obj))
	for k, v := range obj {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadCustom, err)
		}
		out[k] = compact.String()
	}
	return out, nil
}

// androidOptions are the em_android_push_ext keys FCM uses.
type androidOptions struct {
	channelID     string
	legacyChannel string
	sound         string
	fcmOptions    json.RawMessage
}

// readAndroidExt picks FCM's keys out of the compact em_android_push_ext
// object. Values of the wrong type are ignored, as are non-object ext.
func readAndroidExt(raw []byte) androidOptions {
	var o androidOptions
	if len(raw) == 0 {
		return o
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return o
	}
	str := func(key string) string {
		var s string
		_ = json.Unmarshal(obj[key], &s)
		return s
	}
	o.channelID = str(extChannelID)
	o.legacyChannel = str(extLegacyChannel)
	o.sound = str(extLegacySound)

	var opts map[string]json.RawMessage
	if v := obj[extOptions]; json.Unmarshal(v, &opts) == nil && opts != nil {
		var compact bytes.Buffer
		if json.Compact(&compact, v) == nil {
			o.fcmOptions = compact.Bytes()
		}
	}
	return o
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
