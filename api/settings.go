package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/push"
)

// maxBulkConversations bounds GET /users/{u}/notification?conversations=
// (SPEC.md §5.4).
const maxBulkConversations = 20

// settingJSON is one level of notification settings as answered (§5.3).
type settingJSON struct {
	Type           string `json:"type"`
	IgnoreInterval string `json:"ignoreInterval"`
	IgnoreDuration int64  `json:"ignoreDuration"`
}

// conversationJSON is one conversation of the bulk reads (§5.4).
type conversationJSON struct {
	Chattype string `json:"chattype"`
	Key      string `json:"key"`
	settingJSON
}

func settingOf(v *messages.NotificationSettingView) settingJSON {
	return settingJSON{v.GetType(), v.GetIgnoreInterval(), v.GetIgnoreDuration()}
}

// handlePutSetting applies a partial update of one level (§5.3): every
// present field is validated before the grain stores anything.
func handlePutSetting(c *call) error {
	var fields map[string]json.RawMessage
	if _, err := c.decode(&fields); err != nil {
		return err
	}
	m := &messages.PutNotificationSetting{
		Chattype: c.params["chattype"],
		Key:      c.params["key"],
	}
	if e := readSettingFields(fields, m); e != nil {
		return e
	}
	if e := push.ValidateSettingChange(c.params["u"], m); e != nil {
		return fromReply(e)
	}
	return c.answerSetting(m)
}

// readSettingFields copies the present fields of a settings body into m,
// rejecting a field of the wrong JSON type by its name.
func readSettingFields(fields map[string]json.RawMessage,
	m *messages.PutNotificationSetting) error {
	if raw, ok := fields["type"]; ok {
		if err := json.Unmarshal(raw, &m.Type); err != nil || isNull(raw) {
			return errInvalid("type")
		}
		m.HasType = true
	}
	if raw, ok := fields["ignoreInterval"]; ok {
		if err := json.Unmarshal(raw, &m.Interval); err != nil || isNull(raw) {
			return errInvalid("ignoreInterval")
		}
		m.HasInterval = true
	}
	if raw, ok := fields["ignoreDuration"]; ok {
		d, ok := durationValue(raw)
		if !ok {
			return errInvalid("ignoreDuration")
		}
		m.Duration, m.HasDuration = d, true
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// durationValue reads ignoreDuration: a JSON integer or a string of
// decimal digits (§6.3). Range is checked by the validator.
func durationValue(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	text := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, false
		}
		for i := 0; i < len(text); i++ {
			if text[i] < '0' || text[i] > '9' {
				return 0, false
			}
		}
	}
	d, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		// Fractions, exponents and numbers beyond int64 are not integers
		// the API accepts.
		return 0, false
	}
	return d, true
}

// answerSetting sends m to the grain and answers the level's state.
func (c *call) answerSetting(m *messages.PutNotificationSetting) error {
	reply, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, c.params["u"], m)
	r, err := expect[*messages.NotificationSettingsReply](c, reply, err)
	if err != nil {
		return err
	}
	if len(r.GetSettings()) != 1 {
		return errInternal("settings reply without the level")
	}
	c.data(settingOf(r.GetSettings()[0]))
	return nil
}

// handleGetSetting reads one level.
func handleGetSetting(c *call) error {
	chattype, key := c.params["chattype"], c.params["key"]
	if chattype != push.ChatTypeUser && chattype != push.ChatTypeGroup {
		return errInvalid("chattype")
	}
	views, err := c.readSettings(&messages.GetNotificationSettings{
		Refs: []*messages.ConversationRef{{Chattype: chattype, Key: key}},
	})
	if err != nil {
		return err
	}
	if len(views) != 1 {
		return errInternal("settings reply without the level")
	}
	c.data(settingOf(views[0]))
	return nil
}

func (c *call) readSettings(req *messages.GetNotificationSettings) (
	[]*messages.NotificationSettingView, error) {
	reply, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, c.params["u"], req)
	r, err := expect[*messages.NotificationSettingsReply](c, reply, err)
	if err != nil {
		return nil, err
	}
	return r.GetSettings(), nil
}

// handleGetConversations reads up to 20 named conversations in the order
// asked, leaving out those without a setting of their own (§5.4).
func handleGetConversations(c *call) error {
	refs, ok := parseConversations(c.r.URL.Query()["conversations"])
	if !ok {
		return errInvalid("conversations")
	}
	views, err := c.readSettings(&messages.GetNotificationSettings{Refs: refs})
	if err != nil {
		return err
	}
	c.data(conversationList(views))
	return nil
}

// parseConversations reads "user:bob,chatgroup:g1" (one or more query
// values): 1-20 conversations, known chattypes, non-empty keys.
func parseConversations(values []string) ([]*messages.ConversationRef, bool) {
	var refs []*messages.ConversationRef
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			chattype, key, found := strings.Cut(item, ":")
			if !found || key == "" ||
				(chattype != push.ChatTypeUser && chattype != push.ChatTypeGroup) {
				return nil, false
			}
			if chattype == push.ChatTypeUser {
				key = strings.ToLower(key)
			}
			refs = append(refs, &messages.ConversationRef{Chattype: chattype, Key: key})
		}
	}
	return refs, len(refs) > 0 && len(refs) <= maxBulkConversations
}

func conversationList(views []*messages.NotificationSettingView) []conversationJSON {
	out := make([]conversationJSON, 0, len(views))
	for _, v := range views {
		if v.GetOwn() {
			out = append(out, conversationJSON{v.GetChattype(), v.GetKey(), settingOf(v)})
		}
	}
	return out
}

// handleListConversations lists every conversation with a setting of its
// own, sorted by chattype then key, for a device to sync (§5.4).
func handleListConversations(c *call) error {
	views, err := c.readSettings(&messages.GetNotificationSettings{All: true})
	if err != nil {
		return err
	}
	c.data(conversationList(views))
	return nil
}

// stringField reads one string field of a body that must be present.
func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	var s string
	if !ok || isNull(raw) || json.Unmarshal(raw, &s) != nil {
		return "", errInvalid(name)
	}
	return s, nil
}

// userRecord sends a user-record change (or GetUser) and returns the
// record the grain answered.
func (c *call) userRecord(req proto.Message) (*messages.UserRecord, error) {
	reply, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, c.params["u"], req)
	r, err := expect[*messages.UserReply](c, reply, err)
	if err != nil {
		return nil, err
	}
	return r.GetUser(), nil
}

// handlePutLanguage sets the translation language (§9).
func handlePutLanguage(c *call) error {
	var fields map[string]json.RawMessage
	if _, err := c.decode(&fields); err != nil {
		return err
	}
	lang, err := stringField(fields, "translationLanguage")
	if err != nil {
		return err
	}
	if e := messages.ValidateLanguage(lang); e != nil {
		return fromReply(e)
	}
	rec, err := c.userRecord(&messages.PutUserLanguage{Language: lang})
	if err != nil {
		return err
	}
	c.data(map[string]string{"language": rec.GetLanguage()})
	return nil
}

func handleGetLanguage(c *call) error {
	rec, err := c.userRecord(&messages.GetUser{})
	if err != nil {
		return err
	}
	c.data(map[string]string{"language": rec.GetLanguage()})
	return nil
}

// handlePutTimezone sets the user's IANA time zone (§6.2, §11.4).
func handlePutTimezone(c *call) error {
	var fields map[string]json.RawMessage
	if _, err := c.decode(&fields); err != nil {
		return err
	}
	tz, err := stringField(fields, "timezone")
	if err != nil {
		return err
	}
	if e := messages.ValidateTimezone(tz); e != nil {
		return fromReply(e)
	}
	rec, err := c.userRecord(&messages.PutUserTimezone{Timezone: tz})
	if err != nil {
		return err
	}
	c.data(map[string]string{"timezone": rec.GetTimezone()})
	return nil
}

func handleGetTimezone(c *call) error {
	rec, err := c.userRecord(&messages.GetUser{})
	if err != nil {
		return err
	}
	c.data(map[string]string{"timezone": rec.GetTimezone()})
	return nil
}

// handlePutReceiverTemplate sets the user's template (§8.6); the grain
// refuses a name the app does not have.
func handlePutReceiverTemplate(c *call) error {
	var fields map[string]json.RawMessage
	if _, err := c.decode(&fields); err != nil {
		return err
	}
	name, err := stringField(fields, "templateName")
	if err != nil {
		return err
	}
	if name != "" && !messages.ValidTemplateName(name) {
		return fromReply(messages.TemplateNotFound(name))
	}
	rec, err := c.userRecord(&messages.PutUserTemplate{TemplateName: name})
	if err != nil {
		return err
	}
	c.data(map[string]string{"templateName": rec.GetTemplateName()})
	return nil
}

func handleGetReceiverTemplate(c *call) error {
	rec, err := c.userRecord(&messages.GetUser{})
	if err != nil {
		return err
	}
	c.data(map[string]string{"templateName": rec.GetTemplateName()})
	return nil
}
