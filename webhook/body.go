package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/herald-im/herald/events"
)

// eventBody is the JSON event of SPEC.md §12, fields in the order the
// table lists them.
type eventBody struct {
	CallID       string          `json:"callId"`
	AppKey       string          `json:"appkey"`
	MsgID        string          `json:"msg_id"`
	From         string          `json:"from"`
	ChatType     string          `json:"chat_type"`
	Target       string          `json:"target"`
	GroupID      string          `json:"group_id"`
	DeviceID     string          `json:"device_id"`
	DeviceToken  string          `json:"device_token"`
	NotifierName string          `json:"notifier_name"`
	Channel      string          `json:"channel"`
	Status       string          `json:"status"`
	Detail       string          `json:"detail"`
	Step         string          `json:"step"`
	Data         json.RawMessage `json:"data"`
	EMessage     string          `json:"e_message"`
	Payload      any             `json:"payload"`
	Timestamp    int64           `json:"timestamp"`
	Security     string          `json:"security"`
}

// payloadBody is the rendered notification; g and e appear only when the
// message has them (SPEC.md §7.3).
type payloadBody struct {
	Title   string          `json:"title"`
	Content string          `json:"content"`
	Badge   int64           `json:"badge"`
	F       string          `json:"f"`
	T       string          `json:"t"`
	M       string          `json:"m"`
	G       string          `json:"g,omitempty"`
	E       json.RawMessage `json:"e,omitempty"`
}

var emptyObject = json.RawMessage(`{}`)

// encodeEvent builds the exact body bytes POSTed for ev. ts is the event
// time in ms; secret keys the security field.
func encodeEvent(ev *events.Event, secret string, ts int64) ([]byte, error) {
	callID := ev.AppKey + "_" + ev.MsgID
	b := eventBody{
		CallID:       callID,
		AppKey:       ev.AppKey,
		MsgID:        ev.MsgID,
		From:         ev.From,
		ChatType:     ev.ChatType,
		Target:       ev.Target,
		GroupID:      ev.GroupID,
		DeviceID:     ev.DeviceID,
		DeviceToken:  ev.DeviceToken,
		NotifierName: ev.NotifierName,
		Channel:      events.Channel(ev.Provider),
		Status:       ev.Status,
		Detail:       ev.Detail,
		Step:         "push",
		Data:         jsonOrEmpty(ev.VendorResponse),
		EMessage:     ev.ErrorText,
		Payload:      payloadOf(ev.Payload),
		Timestamp:    ts,
		Security:     security(callID, secret, ts),
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&b); err != nil {
		return nil, fmt.Errorf("encode webhook event: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// jsonOrEmpty passes valid JSON through and turns anything else (absent,
// or a vendor answer that is not JSON) into {}.
func jsonOrEmpty(raw []byte) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 || !json.Valid(raw) {
		return emptyObject
	}
	return raw
}

func payloadOf(p *events.Payload) any {
	if p == nil {
		return emptyObject
	}
	pb := payloadBody{Title: p.Title, Content: p.Content, Badge: p.Badge,
		F: p.F, T: p.T, M: p.M, G: p.G}
	if len(p.E) > 0 && json.Valid(p.E) {
		pb.E = p.E
	}
	return pb
}

// security is the §12 check value: lower-hex MD5 of callId, secret and
// the decimal timestamp, concatenated.
func security(callID, secret string, ts int64) string {
	sum := md5.Sum([]byte(callID + secret + strconv.FormatInt(ts, 10)))
	return hex.EncodeToString(sum[:])
}

// signature is the X-Herald-Signature value of body under secret.
func signature(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// newEventID returns a random UUID (version 4) naming one event across
// its retries, so receivers can drop duplicates.
func newEventID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails on supported platforms
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
