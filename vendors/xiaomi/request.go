package xiaomi

import (
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Limits of VENDORS.md §2.5. MiPush counts characters, not bytes, and
// wants the title under 50 and the description under 128.
const (
	MaxTitle       = 49
	MaxDescription = 127
	// MaxPayload is the most bytes of custom JSON text MiPush takes.
	MaxPayload = 4096
	// TimeToLive is how long MiPush keeps a push for an offline phone.
	// The notifier has no TTL field; one day matches the OPPO default.
	TimeToLive = 24 * 60 * 60 * 1000 // ms
)

// Click effects of extra.notify_effect.
const (
	effectApp    = "1" // open the app's launcher activity
	effectIntent = "2" // open extra.intent_uri
	effectWeb    = "3" // open extra.web_uri
)

// Credentials are a xiaomi notifier's fields (SPEC.md §11.7).
type Credentials struct {
	AppSecret   string
	PackageName string
	ChannelID   string
	// ClickAction is an intent URI ("intent:…") or a web URL; "" opens
	// the app.
	ClickAction string
}

// ParseCredentials reads and checks a notifier's credential map.
func ParseCredentials(m map[string]string) (*Credentials, error) {
	c := &Credentials{
		AppSecret:   strings.TrimSpace(m["app_secret"]),
		PackageName: strings.TrimSpace(m["package_name"]),
		ChannelID:   strings.TrimSpace(m["channel_id"]),
		ClickAction: strings.TrimSpace(m["click_action"]),
	}
	for _, f := range []struct{ name, v string }{
		{"app_secret", c.AppSecret}, {"package_name", c.PackageName},
		{"channel_id", c.ChannelID},
	} {
		if f.v == "" {
			return nil, &vendors.FieldError{Field: "credentials." + f.name, Reason: "required"}
		}
	}
	if strings.ContainsAny(c.AppSecret, "\r\n") {
		return nil, &vendors.FieldError{Field: "credentials.app_secret",
			Reason: "must be one line"}
	}
	return c, nil
}

// NotifyID is the notify_id of a collapse key: the tray keeps one
// notification per id, so pushes with the same key replace each other.
// It is FNV-1a (32 bit) of the key's bytes with the top bit cleared, as
// MiPush takes a non-negative int32.
func NotifyID(collapseKey string) int32 {
	h := fnv.New32a()
	h.Write([]byte(collapseKey))
	return int32(h.Sum32() & 0x7fffffff)
}

// BuildForm makes the form of POST /v3/message/regid for one device, per
// SPEC.md §10 and VENDORS.md §2.5. It is pure. Custom data that is not a
// JSON object or does not fit MaxPayload is refused without a request.
func BuildForm(n *messages.Notification, c *Credentials, deviceToken string) (url.Values, error) {
	custom := n.GetCustom()
	if len(custom) == 0 {
		custom = []byte("{}")
	}
	if !oem.IsObject(custom) {
		return nil, ErrBadCustom
	}
	if len(custom) > MaxPayload {
		return nil, ErrPayloadTooLarge
	}
	ext := oem.ParseOptions(n.GetAndroidExt())

	f := url.Values{}
	f.Set("registration_id", deviceToken)
	f.Set("restricted_package_name", c.PackageName)
	f.Set("title", oem.CutRunes(n.GetTitle(), MaxTitle))
	f.Set("description", oem.CutRunes(n.GetBody(), MaxDescription))
	f.Set("payload", string(custom))
	f.Set("pass_through", "0")
	f.Set("notify_type", "-1")
	f.Set("notify_id", strconv.Itoa(int(NotifyID(n.GetCollapseKey()))))
	f.Set("time_to_live", strconv.Itoa(TimeToLive))

	// A channel id comes from the ext key, else the legacy key, else the
	// notifier (SPEC.md §10).
	f.Set("extra.channel_id", oem.FirstNonEmpty(ext.Text("xiaomi_channel_id"),
		ext.Text("em_push_channel_id"), c.ChannelID))

	setClick(f, oem.FirstNonEmpty(ext.Text("xiaomi_click_action"), c.ClickAction))
	if s := soundURI(ext.Text("em_push_sound"), c.PackageName); s != "" {
		f.Set("extra.sound_uri", s)
	}
	return f, nil
}

// setClick maps a click action to notify_effect: a web URL opens in the
// browser, anything else is taken as an intent URI, and none opens the
// app.
func setClick(f url.Values, action string) {
	lower := strings.ToLower(action)
	switch {
	case action == "":
		f.Set("extra.notify_effect", effectApp)
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		f.Set("extra.notify_effect", effectWeb)
		f.Set("extra.web_uri", action)
	default:
		f.Set("extra.notify_effect", effectIntent)
		f.Set("extra.intent_uri", action)
	}
}

// soundURI turns the legacy em_push_sound ("/raw/ring", "ring") into the
// resource URI MiPush plays; a full URI is kept.
func soundURI(sound, pkg string) string {
	switch {
	case sound == "":
		return ""
	case strings.Contains(sound, "://"):
		return sound
	case strings.HasPrefix(sound, "/"):
		return "android.resource://" + pkg + sound
	}
	return "android.resource://" + pkg + "/raw/" + sound
}

// errorf wraps a shared sentinel with the vendor's name.
func errorf(format string, args ...any) error {
	return fmt.Errorf("xiaomi: "+format, args...)
}
