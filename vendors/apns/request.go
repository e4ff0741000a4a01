package apns

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Payload limits of APNs, in bytes of the JSON body.
const (
	MaxPayload     = 4096
	MaxVoIPPayload = 5120
	// maxCollapseID is the longest apns-collapse-id APNs takes.
	maxCollapseID = 64
)

// ErrPayloadTooLarge means the custom data alone does not fit the payload
// limit: no request is made and the push is a payload error.
var ErrPayloadTooLarge = fmt.Errorf("apns: %w", vendors.ErrPayloadTooLarge)

// ErrBadCustom means the notification's custom data is not a JSON object.
var ErrBadCustom = fmt.Errorf("apns: %w", vendors.ErrBadCustom)

// Header names Herald sets on every request.
const (
	HeaderTopic      = "apns-topic"
	HeaderPushType   = "apns-push-type"
	HeaderPriority   = "apns-priority"
	HeaderCollapseID = "apns-collapse-id"
)

// BuildRequest renders n as the headers and JSON body of one APNs request
// (SPEC.md §10, VENDORS.md §2.1). It is pure: the same input gives the same
// bytes. voip selects the apns-voip topic, push type and size limit.
//
// Text that does not fit the limit is cut at a character boundary, body
// first, then title, then subtitle; custom data that does not fit on its
// own gives ErrPayloadTooLarge.
func BuildRequest(n *messages.Notification, c *Credentials, voip bool) (
	headers map[string]string, body []byte, err error) {

	if n == nil || c == nil {
		return nil, nil, errors.New("apns: build request: nil notification or credentials")
	}
	p := payload{n: n, sound: soundFor(n, c)}
	if members, ok := plainCustom(n.Custom); ok {
		p.customMembers = members
	} else if p.custom, err = customFields(n.Custom); err != nil {
		return nil, nil, err
	}

	headers = requestHeaders(n, c, voip)
	limit := MaxPayload
	if voip {
		limit = MaxVoIPPayload
	}

	text := alertText{title: n.Title, subtitle: n.Subtitle, body: n.Body}
	body, err = p.fit(text, limit)
	if err != nil {
		return nil, nil, err
	}
	return headers, body, nil
}

// requestHeaders fills the topic, push type, priority and collapse id.
func requestHeaders(n *messages.Notification, c *Credentials, voip bool) map[string]string {
	topic := c.BundleID
	pushType := "alert"
	priority := "10"
	switch {
	case voip:
		if !strings.HasSuffix(topic, ".voip") {
			topic += ".voip"
		}
		pushType = "voip"
	case isBackground(n):
		// APNs refuses priority 10 for background pushes.
		pushType = "background"
		priority = "5"
	}

	h := map[string]string{
		HeaderTopic:    topic,
		HeaderPushType: pushType,
		HeaderPriority: priority,
	}
	if id := CollapseID(n.CollapseKey); id != "" {
		h[HeaderCollapseID] = id
	}
	return h
}

// isBackground reports a content-available push with nothing to show.
func isBackground(n *messages.Notification) bool {
	return n.ContentAvailable && n.Title == "" && n.Subtitle == "" && n.Body == ""
}

// CollapseID turns a collapse key into an apns-collapse-id: keys of at most
// 64 bytes go as they are, longer ones as the first 64 hex digits of their
// SHA-256, so distinct long keys stay distinct.
func CollapseID(key string) string {
	if len(key) <= maxCollapseID {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:maxCollapseID]
}

// soundFor applies SPEC.md §10: the push's sound, else the notifier's
// default_sound, else "default".
func soundFor(n *messages.Notification, c *Credentials) string {
	switch {
	case n.Sound != "":
		return n.Sound
	case c.DefaultSound != "":
		return c.DefaultSound
	}
	return "default"
}

// plainCustom is the fast path for custom data: a valid JSON object with no
// "aps" anywhere in it needs no splitting, so its members are written into
// the body as they are. push/ renders every push's custom data this way.
func plainCustom(raw []byte) (members []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' ||
		bytes.Contains(raw, []byte(`"aps"`)) || !json.Valid(raw) {
		return nil, false
	}
	return bytes.TrimSpace(raw[1 : len(raw)-1]), true
}

// customField is one top-level key of the custom data, kept in order.
type customField struct {
	key   string
	value json.RawMessage
}

// customFields splits the custom JSON object into its keys, in order, and
// drops "aps", which belongs to Apple.
func customFields(raw []byte) ([]customField, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrBadCustom
	}

	var out []customField
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadCustom, err)
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadCustom, err)
		}
		if key == "aps" {
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadCustom, err)
		}
		out = append(out, customField{key: key, value: compact.Bytes()})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, ErrBadCustom
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrBadCustom // something follows the object
	}
	return out, nil
}

// alertText is the part of a payload that may be cut to fit.
type alertText struct {
	title, subtitle, body string
}

// payload renders the JSON body for given alert text.
type payload struct {
	n      *messages.Notification
	sound  string
	custom []customField
	// customMembers, when set, replaces custom: the members of a custom
	// object that needed no splitting, written as they are.
	customMembers []byte
}

// fit renders the body and, if it is over limit, cuts the body text, then
// the title, then the subtitle, each to the longest prefix that fits.
func (p payload) fit(text alertText, limit int) ([]byte, error) {
	fits := func(t alertText) bool { return len(p.render(t)) <= limit }
	if fits(text) {
		return p.render(text), nil
	}
	if !fits(alertText{}) {
		return nil, ErrPayloadTooLarge
	}

	fields := []func(*alertText) *string{
		func(t *alertText) *string { return &t.body },
		func(t *alertText) *string { return &t.title },
		func(t *alertText) *string { return &t.subtitle },
	}
	for _, field := range fields {
		full := *field(&text)
		*field(&text) = ""
		if !fits(text) {
			continue // this one goes entirely and the next is cut too
		}
		*field(&text) = longestPrefix(full, func(s string) bool {
			t := text
			*field(&t) = s
			return fits(t)
		})
		break
	}
	return p.render(text), nil
}

// longestPrefix finds the longest prefix of s, cut at a rune boundary, that
// fits. fits must hold for "" and be monotone in the prefix length.
func longestPrefix(s string, fits func(string) bool) string {
	cuts := make([]int, 0, len(s)+1)
	for i := range s {
		cuts = append(cuts, i)
	}
	cuts = append(cuts, len(s))

	lo, hi := 0, len(cuts)-1 // cuts[lo] fits; find the largest that does
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(s[:cuts[mid]]) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return s[:cuts[lo]]
}

// render writes {"aps":{...},<custom>} with keys in a fixed order and empty
// optional fields left out.
func (p payload) render(text alertText) []byte {
	n := p.n
	var b bytes.Buffer
	b.WriteString(`{"aps":{`)
	w := fieldWriter{b: &b}

	if text.title != "" || text.subtitle != "" || text.body != "" {
		var a bytes.Buffer
		aw := fieldWriter{b: &a}
		aw.str("title", text.title)
		aw.str("subtitle", text.subtitle)
		aw.str("body", text.body)
		w.raw("alert", append(append([]byte{'{'}, a.Bytes()...), '}'))
	}
	if n.HasBadge {
		w.raw("badge", []byte(strconv.FormatInt(n.Badge, 10)))
	}
	if !isBackground(n) {
		// A background push plays nothing; a sound would make it visible.
		w.str("sound", p.sound)
	}
	w.str("thread-id", n.ThreadId)
	w.str("category", n.Category)
	if n.MutableContent {
		w.raw("mutable-content", []byte("1"))
	}
	if n.ContentAvailable {
		w.raw("content-available", []byte("1"))
	}
	b.WriteByte('}')

	if len(p.customMembers) > 0 {
		b.WriteByte(',')
		b.Write(p.customMembers)
	}
	for _, f := range p.custom {
		b.WriteByte(',')
		b.Write(jsonString(f.key))
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')

	// apns2 sends the body through json.Marshal, which escapes HTML
	// characters; escape them here so the size checked is the size sent.
	var wire bytes.Buffer
	json.HTMLEscape(&wire, b.Bytes())
	return wire.Bytes()
}

// fieldWriter writes comma-separated JSON members, skipping empty strings.
type fieldWriter struct {
	b     *bytes.Buffer
	count int
}

func (w *fieldWriter) str(key, v string) {
	if v != "" {
		w.raw(key, jsonString(v))
	}
}

func (w *fieldWriter) raw(key string, v []byte) {
	if w.count > 0 {
		w.b.WriteByte(',')
	}
	w.count++
	w.b.Write(jsonString(key))
	w.b.WriteByte(':')
	w.b.Write(v)
}

// jsonString encodes s as a JSON string.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
