package oppo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Limits of VENDORS.md §2.6 ("treat as" for the text lengths).
const (
	MaxTitle   = 50
	MaxContent = 200
	// MaxCustom bounds action_parameters; OPPO publishes no figure, so
	// Herald keeps the 4 KB every OEM takes.
	MaxCustom = 4096
	// OfflineTTL is how long OPPO keeps a push for an offline phone, in
	// seconds; the notifier has no TTL field.
	OfflineTTL = 86400
)

// Click actions: 0 opens the app, 4 an activity by name.
const (
	clickApp      = 0
	clickActivity = 4
)

// Credentials are an oppo notifier's fields (SPEC.md §11.7).
type Credentials struct {
	AppKey        string
	MasterSecret  string
	PackageName   string
	ChannelID     string
	ClickActivity string
	Category      string
	// NotifyLevel is 1, 2 or 16, 0 for none; sent only with a category.
	NotifyLevel int
}

// ParseCredentials reads and checks a notifier's credential map.
func ParseCredentials(m map[string]string) (*Credentials, error) {
	c := &Credentials{
		AppKey:        strings.TrimSpace(m["app_key"]),
		MasterSecret:  strings.TrimSpace(m["master_secret"]),
		PackageName:   strings.TrimSpace(m["package_name"]),
		ChannelID:     strings.TrimSpace(m["channel_id"]),
		ClickActivity: strings.TrimSpace(m["click_activity"]),
		Category:      strings.TrimSpace(m["category"]),
	}
	for _, f := range []struct{ name, v string }{
		{"app_key", c.AppKey}, {"master_secret", c.MasterSecret},
		{"package_name", c.PackageName},
	} {
		if f.v == "" {
			return nil, &vendors.FieldError{Field: "credentials." + f.name, Reason: "required"}
		}
	}
	if lvl := strings.TrimSpace(m["notify_level"]); lvl != "" {
		n, ok := notifyLevel(lvl)
		if !ok {
			return nil, &vendors.FieldError{Field: "credentials.notify_level",
				Reason: "must be 1, 2 or 16"}
		}
		c.NotifyLevel = n
	}
	return c, nil
}

func notifyLevel(s string) (int, bool) {
	switch s {
	case "1", "2", "16":
		n, _ := strconv.Atoi(s)
		return n, true
	}
	return 0, false
}

// Sign is the sign of POST /server/v1/auth: lowercase hex SHA-256 of
// app_key, the timestamp in unix ms and master_secret, concatenated.
func Sign(appKey string, timestampMS int64, masterSecret string) string {
	sum := sha256.Sum256([]byte(appKey + strconv.FormatInt(timestampMS, 10) + masterSecret))
	return hex.EncodeToString(sum[:])
}

// Message is the unicast message of VENDORS.md §2.6, snake_case.
type Message struct {
	TargetType   int          `json:"target_type"`
	TargetValue  string       `json:"target_value"`
	Notification Notification `json:"notification"`
}

// Notification is the message's notification part.
type Notification struct {
	Title               string `json:"title"`
	Content             string `json:"content"`
	Style               int    `json:"style"`
	ClickActionType     int    `json:"click_action_type"`
	ClickActionActivity string `json:"click_action_activity,omitempty"`
	ActionParameters    string `json:"action_parameters,omitempty"`
	ChannelID           string `json:"channel_id,omitempty"`
	Category            string `json:"category,omitempty"`
	NotifyLevel         int    `json:"notify_level,omitempty"`
	OffLine             bool   `json:"off_line"`
	OffLineTTL          int    `json:"off_line_ttl"`
}

// BuildMessage makes the JSON text of the unicast `message` field for one
// device, per SPEC.md §10. It is pure. Custom data that is not a JSON
// object or does not fit MaxCustom is refused without a request.
func BuildMessage(n *messages.Notification, c *Credentials, deviceToken string) ([]byte, error) {
	custom := n.GetCustom()
	if len(custom) == 0 {
		custom = []byte("{}")
	}
	if !oem.IsObject(custom) {
		return nil, ErrBadCustom
	}
	if len(custom) > MaxCustom {
		return nil, ErrPayloadTooLarge
	}
	ext := oem.ParseOptions(n.GetAndroidExt())

	note := Notification{
		Title:            oem.CutRunes(n.GetTitle(), MaxTitle),
		Content:          oem.CutRunes(n.GetBody(), MaxContent),
		Style:            1,
		ClickActionType:  clickApp,
		ActionParameters: string(custom),
		ChannelID: oem.FirstNonEmpty(ext.Text("oppo_channel_id"), ext.Text("em_push_channel_id"),
			c.ChannelID),
		Category:   oem.FirstNonEmpty(ext.Text("oppo_category"), c.Category),
		OffLine:    true,
		OffLineTTL: OfflineTTL,
	}
	if act := oem.FirstNonEmpty(ext.Text("oppo_click_activity"), c.ClickActivity); act != "" {
		note.ClickActionType, note.ClickActionActivity = clickActivity, act
	}

	// A notify level means nothing without a category; an ext level that
	// is not one of OPPO's leaves the notifier's.
	if note.Category != "" {
		note.NotifyLevel = c.NotifyLevel
		if lvl, ok := notifyLevel(ext.Text("oppo_notify_level")); ok {
			note.NotifyLevel = lvl
		}
	}

	msg := Message{TargetType: 2, TargetValue: deviceToken, Notification: note}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, errorf("encode message: %w", err)
	}
	return b, nil
}
