package messages

// Input validation shared by every entry point: the REST layer checks a
// request with these functions before it sends anything to an actor, and the
// actors check again what arrives over other transports. Each function
// returns nil or one *Error naming the first offending field (dotted when
// nested), so a caller can reject the whole input and change nothing.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Error codes carried in Error.Code (SPEC.md §11.1 and the transport codes).
const (
	CodeIllegalArgument = "illegal_argument"
	CodeEntityNotFound  = "entity_not_found"
	CodeForbiddenOp     = "forbidden_op"
	CodeNotFound        = "not_found"
	CodeInternal        = "internal"
	CodeUnavailable     = "unavailable"
	CodeOverloaded      = "overloaded"
	CodeTimeout         = "timeout"
	// CodeMessageTooLarge rejects a message whose body and ext together
	// exceed MaxMessageBytes (REST: 400 message_send_error).
	CodeMessageTooLarge = "message_too_large"
)

// Limits of SPEC.md §4 and §11.8.
const (
	MaxDeviceIDChars     = 128
	MaxNotifierNameChars = 128
	MaxDeviceTokenBytes  = 4096
	MaxMsgIDChars        = 64
	MaxChatRecipients    = 600
	MaxGroupMembers      = 3000
	// MaxMessageBytes bounds the compact JSON of body plus ext.
	MaxMessageBytes = 5120
)

// RedactedValue replaces secret credential values in every response.
const RedactedValue = "******"

// InvalidField is the illegal_argument error for one field.
func InvalidField(field string) *Error {
	return &Error{
		Code:        CodeIllegalArgument,
		Field:       field,
		Description: "parameters is invalid : " + field,
	}
}

// errMessageTooLarge is the error for a message whose body and ext are too
// big together.
func errMessageTooLarge() *Error {
	return &Error{
		Code:        CodeMessageTooLarge,
		Field:       "body",
		Description: "message is too large",
	}
}

// charsBetween reports whether s is valid UTF-8 with min..max code points.
func charsBetween(s string, min, max int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := utf8.RuneCountInString(s)
	return n >= min && n <= max
}

// ValidatePutBinding checks a binding change (SPEC.md §4). An empty
// device_token or notifier_name is valid: it means delete.
func ValidatePutBinding(b *PutBinding) *Error {
	if b == nil {
		return InvalidField("body")
	}
	if !charsBetween(b.DeviceId, 1, MaxDeviceIDChars) {
		return InvalidField("device_id")
	}
	if len(b.DeviceToken) > MaxDeviceTokenBytes || !utf8.ValidString(b.DeviceToken) {
		return InvalidField("device_token")
	}
	if !charsBetween(b.NotifierName, 0, MaxNotifierNameChars) {
		return InvalidField("notifier_name")
	}
	return nil
}

// ValidatePresence checks a device presence event (SPEC.md §11.9).
func ValidatePresence(p *PresenceEvent) *Error {
	if p == nil {
		return InvalidField("body")
	}
	if p.User == "" || !utf8.ValidString(p.User) {
		return InvalidField("user")
	}
	if !charsBetween(p.DeviceId, 1, MaxDeviceIDChars) {
		return InvalidField("device_id")
	}
	switch p.State {
	case PresenceState_PRESENCE_ONLINE, PresenceState_PRESENCE_OFFLINE,
		PresenceState_PRESENCE_KICKED:
	default:
		return InvalidField("state")
	}
	if p.Timestamp < 0 {
		return InvalidField("timestamp")
	}
	return nil
}

// bodyTypes are the message body types of SPEC.md §2.2.
var bodyTypes = map[string]bool{
	"txt": true, "img": true, "audio": true, "video": true,
	"file": true, "loc": true, "custom": true, "cmd": true,
}

// ValidatePushMessage checks a message in the order of the SPEC.md §11.8
// table, then its size. It cannot see whether body.text was present in the
// original JSON; a JSON front end checks that itself.
func ValidatePushMessage(m *PushMessage) *Error {
	if m == nil {
		return InvalidField("body")
	}
	if !charsBetween(m.MsgId, 1, MaxMsgIDChars) {
		return InvalidField("msg_id")
	}
	if m.From == "" || !utf8.ValidString(m.From) {
		return InvalidField("from")
	}
	if e := validateRecipients(m); e != nil {
		return e
	}

	// The body and ext rules are those that make a message invalid at
	// step 3 of the pipeline (§2.2).
	if m.Body == nil {
		return InvalidField("body")
	}
	if !bodyTypes[m.Body.Type] {
		return InvalidField("body.type")
	}
	ext, ok := compactObject(m.Ext)
	if !ok {
		return InvalidField("ext")
	}
	if m.Timestamp < 0 {
		return InvalidField("timestamp")
	}
	for id := range m.Remarks {
		if id == "" {
			return InvalidField("remarks")
		}
	}

	if bodySize(m.Body)+len(ext) > MaxMessageBytes {
		return errMessageTooLarge()
	}
	return nil
}

// bodySize is the length of the shortest JSON encoding of b. A JSON front
// end measures the body as it was sent, which is never shorter, so a
// message it accepted is never refused here.
func bodySize(b *Body) int {
	n := len(`{"type":}`) + quotedLen(b.Type)
	if b.Text != "" {
		n += len(`,"text":`) + quotedLen(b.Text)
	}
	if len(b.Translations) > 0 {
		n += len(`,"translations":{}`) + len(b.Translations) - 1
		for lang, text := range b.Translations {
			n += quotedLen(lang) + len(":") + quotedLen(text)
		}
	}
	return n
}

// quotedLen is the length of s as a JSON string with minimal escaping.
func quotedLen(s string) int {
	n := len(`""`)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"', c == '\\', c == '\n', c == '\r', c == '\t', c == '\b', c == '\f':
			n += 2
		case c < 0x20:
			n += len(`\u0000`)
		default:
			n++
		}
	}
	return n
}

// validateRecipients checks chat_type and the recipient fields it requires.
func validateRecipients(m *PushMessage) *Error {
	switch m.ChatType {
	case "chat":
		if len(m.To) < 1 || len(m.To) > MaxChatRecipients || !allNonEmpty(m.To) {
			return InvalidField("to")
		}
	case "groupchat", "chatroom":
		if m.GroupId == "" || !utf8.ValidString(m.GroupId) {
			return InvalidField("group_id")
		}
	default:
		return InvalidField("chat_type")
	}

	if m.ChatType == "groupchat" {
		n := len(m.Members)
		if n < 1 || n > MaxGroupMembers || !allNonEmpty(m.Members) {
			return InvalidField("members")
		}
	}
	return nil
}

func allNonEmpty(ids []string) bool {
	for _, id := range ids {
		if id == "" || !utf8.ValidString(id) {
			return false
		}
	}
	return true
}

// compactObject returns the compact form of ext, which must be empty
// (meaning {}) or a JSON object.
func compactObject(ext []byte) ([]byte, bool) {
	// Only JSON's own whitespace makes an empty ext: bytes.TrimSpace would
	// also drop \v and \f, which no JSON parser skips.
	if len(bytes.Trim(ext, " \t\r\n")) == 0 {
		return []byte("{}"), true
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, ext); err != nil {
		return nil, false
	}
	out := buf.Bytes()
	return out, out[0] == '{'
}

// CompactExt returns ext as compact JSON, "{}" for empty input, or false
// when it is not a JSON object.
func CompactExt(ext []byte) ([]byte, bool) {
	return compactObject(ext)
}

// NormalizeRecipients lower-cases the sender and recipient ids, merges
// duplicates (keeping first occurrence order), removes the sender and
// lower-cases the keys of remarks. It returns the message's recipients:
// to for chat, members for groupchat, none for chatroom.
func NormalizeRecipients(m *PushMessage) []string {
	m.From = strings.ToLower(m.From)
	m.To = uniqueLower(m.To, m.From)
	m.Members = uniqueLower(m.Members, m.From)
	if len(m.Remarks) > 0 {
		remarks := make(map[string]string, len(m.Remarks))
		for id, r := range m.Remarks {
			remarks[strings.ToLower(id)] = r
		}
		m.Remarks = remarks
	}

	switch m.ChatType {
	case "chat":
		return m.To
	case "groupchat":
		return m.Members
	}
	return nil
}

func uniqueLower(ids []string, sender string) []string {
	if len(ids) == 0 {
		return ids
	}
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		id = strings.ToLower(id)
		if id == sender || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// credentialSpec lists a provider's credential fields (SPEC.md §11.7).
type credentialSpec struct {
	required []string
	optional []string
	// secret fields are never returned; unknown fields are treated alike.
	secret map[string]bool
}

func secrets(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var apnsSpec = credentialSpec{
	required: []string{"bundle_id", "auth_type"},
	optional: []string{"key_id", "team_id", "private_key", "certificate", "password",
		"default_sound"},
	secret: secrets("private_key", "certificate", "password"),
}

var providers = map[string]credentialSpec{
	"apns":      apnsSpec,
	"apns-voip": apnsSpec,
	"fcm": {
		required: []string{"service_account"},
		optional: []string{"project_id", "channel_id", "sound", "priority"},
		secret:   secrets("service_account"),
	},
	"huawei": {
		required: []string{"client_id", "client_secret", "project_id", "package_name"},
		optional: []string{"category", "click_action", "activity", "badge_class",
			"channel_id"},
		secret: secrets("client_secret"),
	},
	"honor": {
		required: []string{"app_id", "client_id", "client_secret"},
		optional: []string{"badge_class", "click_action"},
		secret:   secrets("client_secret"),
	},
	"xiaomi": {
		required: []string{"app_secret", "package_name", "channel_id"},
		optional: []string{"click_action"},
		secret:   secrets("app_secret"),
	},
	"oppo": {
		required: []string{"app_key", "master_secret", "package_name"},
		optional: []string{"channel_id", "click_activity", "category", "notify_level"},
		secret:   secrets("app_key", "master_secret"),
	},
	"vivo": {
		required: []string{"app_id", "app_key", "app_secret", "package_name"},
		optional: []string{"category", "click_activity", "push_type"},
		secret:   secrets("app_key", "app_secret"),
	},
	"meizu": {
		required: []string{"app_id", "app_secret", "package_name"},
		optional: []string{"click_activity", "notice_type"},
		secret:   secrets("app_secret"),
	},
}

// KnownProvider reports whether p is a notifier provider of SPEC.md §11.7.
func KnownProvider(p string) bool {
	_, ok := providers[p]
	return ok
}

var notifierName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// ValidNotifierName reports whether name matches SPEC.md §11.7.
func ValidNotifierName(name string) bool {
	return notifierName.MatchString(name)
}

// ValidateNotifier checks a notifier. With create true n must be complete:
// a valid name, provider and every required credential. With create false
// n is a partial update: only fields that are set are checked, and the
// caller validates the merged result again with create true.
func ValidateNotifier(n *Notifier, create bool) *Error {
	if n == nil {
		return InvalidField("body")
	}
	if (create || n.Name != "") && !ValidNotifierName(n.Name) {
		return InvalidField("name")
	}
	if (create || n.Provider != "") && !KnownProvider(n.Provider) {
		return InvalidField("provider")
	}
	switch n.Environment {
	case "", "development", "production":
	default:
		return InvalidField("environment")
	}
	if n.Endpoint != "" && !httpURL(n.Endpoint) {
		return InvalidField("endpoint")
	}
	if n.AuthEndpoint != "" && !httpURL(n.AuthEndpoint) {
		return InvalidField("auth_endpoint")
	}

	if !create {
		for k, v := range n.Credentials {
			if k == "" || !utf8.ValidString(v) {
				return InvalidField("credentials." + k)
			}
		}
		return nil
	}
	return validateCredentials(n.Provider, n.Credentials)
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// validateCredentials checks the required fields of provider, then the
// shape of fields whose values are constrained.
func validateCredentials(provider string, c map[string]string) *Error {
	spec := providers[provider]
	for _, f := range spec.required {
		if c[f] == "" {
			return InvalidField("credentials." + f)
		}
	}

	switch provider {
	case "apns", "apns-voip":
		return validateAPNs(c)
	case "fcm":
		return validateFCM(c)
	case "vivo":
		if !oneOf(c["push_type"], "", "system", "operation") {
			return InvalidField("credentials.push_type")
		}
	case "meizu":
		if !oneOf(c["notice_type"], "", "0", "1") {
			return InvalidField("credentials.notice_type")
		}
	}
	return nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// validateAPNs checks the fields of the chosen auth_type: a PEM private key
// for p8, a base64 PKCS#12 certificate and its (possibly empty) password
// for p12.
func validateAPNs(c map[string]string) *Error {
	switch c["auth_type"] {
	case "p8":
		for _, f := range []string{"key_id", "team_id", "private_key"} {
			if c[f] == "" {
				return InvalidField("credentials." + f)
			}
		}
		if block, _ := pem.Decode([]byte(c["private_key"])); block == nil {
			return InvalidField("credentials.private_key")
		}
	case "p12":
		cert := c["certificate"]
		if cert == "" {
			return InvalidField("credentials.certificate")
		}
		if _, err := base64.StdEncoding.DecodeString(cert); err != nil {
			return InvalidField("credentials.certificate")
		}
		if _, ok := c["password"]; !ok {
			return InvalidField("credentials.password")
		}
	default:
		return InvalidField("credentials.auth_type")
	}
	return nil
}

// validateFCM checks that service_account is a JSON object and that a
// project id is known, given or taken from the service account.
func validateFCM(c map[string]string) *Error {
	var account map[string]any
	if err := json.Unmarshal([]byte(c["service_account"]), &account); err != nil ||
		account == nil {
		return InvalidField("credentials.service_account")
	}
	if c["project_id"] != "" {
		return nil
	}
	if id, _ := account["project_id"].(string); id == "" {
		return InvalidField("credentials.project_id")
	}
	return nil
}

// SecretCredential reports whether a credential field of provider must never
// be returned. Fields not listed for the provider count as secret.
func SecretCredential(provider, field string) bool {
	spec, ok := providers[provider]
	if !ok || spec.secret[field] {
		return true
	}
	return !oneOf(field, spec.required...) && !oneOf(field, spec.optional...)
}

// RedactNotifier returns a copy of n whose secret credential values read
// RedactedValue, fit for responses and logs.
func RedactNotifier(n *Notifier) *Notifier {
	if n == nil {
		return nil
	}
	out := &Notifier{
		Name:         n.Name,
		Provider:     n.Provider,
		Environment:  n.Environment,
		Enabled:      n.Enabled,
		Created:      n.Created,
		Modified:     n.Modified,
		Endpoint:     n.Endpoint,
		AuthEndpoint: n.AuthEndpoint,
		Credentials:  make(map[string]string, len(n.Credentials)),
	}
	for k, v := range n.Credentials {
		if SecretCredential(n.Provider, k) {
			v = RedactedValue
		}
		out.Credentials[k] = v
	}
	return out
}
