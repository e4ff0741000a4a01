package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidExt reports an ext that is not a JSON object (SPEC.md §2.2).
var ErrInvalidExt = errors.New("ext is not a JSON object")

// Ext is the parsed ext of one message (SPEC.md §7.1). Parse it once per
// message with ParseExt and share it, read-only, between recipients.
//
// Every push-control key of the wrong JSON type is simply absent here.
type Ext struct {
	silent bool // em_ignore_notification
	forced bool // em_force_notification

	// Mentions (§5.2): mentionAll for "all", else lower-case user ids.
	mentionAll bool
	mentionIDs []string

	filter   pushFilter
	template templateRequest

	// Level-3 text (§8.3), already reduced to the first non-empty source.
	title   string
	content string

	groupUserNickname string // em_push_ext.group_user_nickname
	call              bool   // em_push_ext.type == "call" (§2.5)

	apns apnsOptions

	// custom is the compact JSON value of the custom key e (§7.3); nil
	// when e is absent.
	custom []byte

	// androidExt is em_android_push_ext as compact JSON; nil when absent.
	androidExt []byte
}

// pushFilter is em_push_filter (§7.2); a nil list is absent.
type pushFilter struct {
	present        bool
	acceptDevice   []string
	ignoreDevice   []string
	acceptNotifier []string
	ignoreNotifier []string
}

// templateRef names a template and the arguments of its placeholders.
type templateRef struct {
	name        string
	titleArgs   []string
	contentArgs []string
}

// templateRequest is em_push_template (§8.3 level 5, §8.5).
type templateRequest struct {
	outer            templateRef
	directed         templateRef
	directedTargets  []string
	disableAtContent bool
}

// apnsOptions are the em_apns_ext keys that end up in the notification.
type apnsOptions struct {
	subtitle         string
	category         string
	threadID         string
	sound            string
	mutableContent   bool
	contentAvailable bool
	hasBadge         bool
	badge            int64
	collapseKey      string
}

// ParseExt parses the ext JSON text of one message. Empty text means {}.
// Text that is not a JSON object fails with ErrInvalidExt.
func ParseExt(raw []byte) (*Ext, error) {
	x := &Ext{}
	if len(trimSpace(raw)) == 0 {
		return x, nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("parse ext: %w (malformed JSON)", ErrInvalidExt)
	}
	if kindOf(raw) != '{' {
		return nil, fmt.Errorf("parse ext: %w", ErrInvalidExt)
	}

	// First pass: the top-level keys. Nested objects are kept as raw text
	// and read afterwards, because several rules need more than one of them
	// at once (title sources, the mention fallback, the choice of e).
	var pushExt, apnsExt, atList []byte
	eachMember(raw, func(key string, v []byte) {
		switch key {
		case "em_ignore_notification":
			x.silent = flagValue(v)
		case "em_force_notification":
			x.forced = flagValue(v)
		case "em_at_list":
			atList = v
		case "em_push_filter":
			x.filter = parseFilter(v)
		case "em_push_template":
			x.template = parseTemplateRequest(v)
		case "em_push_ext":
			pushExt = objectOrNil(v)
		case "em_apns_ext":
			apnsExt = objectOrNil(v)
		case "em_android_push_ext":
			x.androidExt = compactObject(v)
		}
	})

	x.readPushExt(pushExt)
	x.readAPNsExt(apnsExt)
	if !x.readMentions(atList) {
		eachMember(apnsExt, func(key string, v []byte) {
			if key == "em_at_list" {
				x.readMentions(v)
			}
		})
	}
	if x.custom == nil {
		x.custom = apnsRemainder(apnsExt)
	}
	x.androidExt = withLegacyAndroidKeys(x.androidExt, apnsExt)
	return x, nil
}

// Silent reports em_ignore_notification (§2.4).
func (x *Ext) Silent() bool { return x != nil && x.silent }

// Forced reports em_force_notification (§2.4).
func (x *Ext) Forced() bool { return x != nil && x.forced }

// Call reports whether the message is a call (§2.5).
func (x *Ext) Call() bool { return x != nil && x.call }

// readPushExt reads em_push_ext. Its custom value is the first choice
// for e (§7.3).
func (x *Ext) readPushExt(obj []byte) {
	eachMember(obj, func(key string, v []byte) {
		switch key {
		case "title":
			x.title, _ = stringValue(v)
		case "content":
			x.content, _ = stringValue(v)
		case "group_user_nickname":
			x.groupUserNickname, _ = stringValue(v)
		case "type":
			s, _ := stringValue(v)
			x.call = s == "call"
		case "custom":
			if kindOf(v) != 'n' {
				x.custom = compactValue(v)
			} else {
				x.custom = nil
			}
		}
	})
}

// readAPNsExt reads em_apns_ext: APNs options, the badge and collapse
// overrides, level-3 fallbacks and the legacy extern (second choice for e).
func (x *Ext) readAPNsExt(obj []byte) {
	var title, name, content string
	var extern []byte
	a := &x.apns
	eachMember(obj, func(key string, v []byte) {
		switch key {
		case "em_push_title":
			title, _ = stringValue(v)
		case "em_push_name":
			name, _ = stringValue(v)
		case "em_push_content":
			content, _ = stringValue(v)
		case "em_alert_subTitle":
			a.subtitle, _ = stringValue(v)
		case "em_push_category":
			a.category, _ = stringValue(v)
		case "thread_id":
			a.threadID, _ = stringValue(v)
		case "em_push_sound":
			a.sound, _ = stringValue(v)
		case "em_push_mutable_content":
			a.mutableContent = flagValue(v)
		case "em_push_content_available":
			t := string(trimSpace(v))
			a.contentAvailable = t == "true" || t == "1"
		case "em_push_badge":
			n, ok := intValue(v)
			a.hasBadge, a.badge = ok && n >= 0, max(n, 0)
		case "em_push_collapse_key":
			a.collapseKey, _ = stringValue(v)
		case "extern":
			if kindOf(v) != 'n' {
				extern = v
			} else {
				extern = nil
			}
		}
	})

	x.title = firstNonEmpty(x.title, title, name)
	x.content = firstNonEmpty(x.content, content)
	if x.custom == nil && extern != nil {
		x.custom = compactValue(extern)
	}
}

// readMentions reads a mention list (§5.2); false when v is neither a
// string nor an array, so the caller falls back to the legacy key.
func (x *Ext) readMentions(v []byte) bool {
	switch kindOf(v) {
	case '"':
		s, _ := stringValue(v)
		if strings.EqualFold(s, "all") {
			x.mentionAll = true
		} else {
			x.mentionIDs = []string{strings.ToLower(s)}
		}
		return true
	case '[':
		x.mentionIDs = stringList(v, true)
		return true
	}
	return false
}

// legacyAndroidKeys are em_apns_ext keys that Android vendors read
// (§7.1): the channel id and the Huawei badge class.
var legacyAndroidKeys = [...]string{"em_push_channel_id", "em_huawei_push_badge_class"}

// withLegacyAndroidKeys returns the Android options android (compact JSON
// object or nil) with the legacy keys of em_apns_ext added where android
// lacks them, so vendors find every Android option in one object.
func withLegacyAndroidKeys(android, apnsExt []byte) []byte {
	for _, key := range legacyAndroidKeys {
		var value []byte
		eachMember(apnsExt, func(k string, v []byte) {
			if k == key {
				value = v
			}
		})
		if value == nil || hasMember(android, key) {
			continue
		}
		if len(android) < 2 {
			android = []byte("{}")
		}
		out := append([]byte(nil), android[:len(android)-1]...)
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendString(out, key)
		out = append(out, ':')
		out = append(out, compactValue(value)...)
		android = slices.Clip(append(out, '}'))
	}
	return android
}

func hasMember(obj []byte, key string) bool {
	found := false
	eachMember(obj, func(k string, _ []byte) { found = found || k == key })
	return found
}

// apnsExtTextKeys are the em_apns_ext keys left out when the rest of the
// object becomes e (§7.3).
var apnsExtTextKeys = map[string]bool{
	"em_push_title":              true,
	"em_push_content":            true,
	"em_push_name":               true,
	"em_push_channel_id":         true,
	"em_huawei_push_badge_class": true,
}

// apnsRemainder returns em_apns_ext without its text keys, or nil when
// no key remains.
func apnsRemainder(obj []byte) []byte {
	var out []byte
	eachMember(obj, func(key string, v []byte) {
		if apnsExtTextKeys[key] {
			return
		}
		if out == nil {
			out = append(out, '{')
		} else {
			out = append(out, ',')
		}
		out = appendString(out, key)
		out = append(out, ':')
		out = append(out, compactValue(v)...)
	})
	if out == nil {
		return nil
	}
	return append(out, '}')
}

func parseFilter(v []byte) pushFilter {
	var f pushFilter
	if kindOf(v) != '{' {
		return f
	}
	f.present = true
	eachMember(v, func(key string, v []byte) {
		switch key {
		case "accept_device_id":
			f.acceptDevice = stringList(v, false)
		case "ignore_device_id":
			f.ignoreDevice = stringList(v, false)
		case "accept_notifier_name":
			f.acceptNotifier = stringList(v, false)
		case "ignore_notifier_name":
			f.ignoreNotifier = stringList(v, false)
		}
	})
	return f
}

func parseTemplateRequest(v []byte) templateRequest {
	var t templateRequest
	eachMember(v, func(key string, v []byte) {
		switch key {
		case "name":
			t.outer.name, _ = stringValue(v)
		case "title_args":
			t.outer.titleArgs = argList(v)
		case "content_args":
			t.outer.contentArgs = argList(v)
		case "disable_at_content":
			t.disableAtContent = flagValue(v)
		case "directed_template":
			eachMember(v, func(key string, v []byte) {
				switch key {
				case "name":
					t.directed.name, _ = stringValue(v)
				case "target":
					t.directedTargets = stringList(v, false)
				case "title_args":
					t.directed.titleArgs = argList(v)
				case "content_args":
					t.directed.contentArgs = argList(v)
				}
			})
		}
	})
	return t
}

// stringList returns the string elements of a JSON array (others are
// ignored), lower-cased when lower is set; nil when v is no array.
func stringList(v []byte, lower bool) []string {
	if kindOf(v) != '[' {
		return nil
	}
	list := []string{}
	eachElement(v, func(e []byte) {
		if s, ok := stringValue(e); ok {
			if lower {
				s = strings.ToLower(s)
			}
			list = append(list, s)
		}
	})
	return list
}

// argList returns template arguments as text (§8.4); nil when v is no array.
func argList(v []byte) []string {
	if kindOf(v) != '[' {
		return nil
	}
	var list []string
	eachElement(v, func(e []byte) { list = append(list, argText(e)) })
	return list
}

func objectOrNil(v []byte) []byte {
	if kindOf(v) != '{' {
		return nil
	}
	return v
}

func compactObject(v []byte) []byte {
	if kindOf(v) != '{' {
		return nil
	}
	return compactValue(v)
}

// compactValue returns a compact copy of the JSON value v.
func compactValue(v []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(v))
	if err := json.Compact(&buf, v); err != nil {
		return append([]byte(nil), trimSpace(v)...)
	}
	// Clipped: the value is shared by every recipient of the message.
	return slices.Clip(buf.Bytes())
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
