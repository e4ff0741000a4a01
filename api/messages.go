package api

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/herald-im/herald/messages"
)

const (
	defaultPushWait = 30 * time.Second
	maxPushWaitSec  = 120
)

// messageRequest is the body of POST /push/messages (§11.8).
type messageRequest struct {
	MsgID     string            `json:"msg_id"`
	From      string            `json:"from"`
	ChatType  string            `json:"chat_type"`
	To        []string          `json:"to"`
	GroupID   string            `json:"group_id"`
	Members   []string          `json:"members"`
	Body      *bodyRequest      `json:"body"`
	Ext       json.RawMessage   `json:"ext"`
	Route     string            `json:"route"`
	Timestamp int64             `json:"timestamp"`
	Remarks   map[string]string `json:"remarks"`
}

type bodyRequest struct {
	Type         string            `json:"type"`
	Text         *string           `json:"text"`
	Translations map[string]string `json:"translations"`
}

// rawParts keeps body and ext as sent, to measure their compact size.
type rawParts struct {
	Body json.RawMessage `json:"body"`
	Ext  json.RawMessage `json:"ext"`
}

type pushJSON struct {
	MsgID      string `json:"msg_id"`
	Recipients int32  `json:"recipients"`
	Pushed     int32  `json:"pushed"`
	Skipped    int32  `json:"skipped"`
	Failed     int32  `json:"failed"`
	Pending    int32  `json:"pending"`
	Duplicate  bool   `json:"duplicate"`
}

// handlePushMessage validates one message, hands it to the node and
// answers once every recipient has an outcome or the wait is over.
func handlePushMessage(c *call) error {
	wait, err := pushWait(c.r.URL.Query())
	if err != nil {
		return err
	}
	m, err := c.readMessage()
	if err != nil {
		return err
	}
	messages.NormalizeRecipients(m)
	m.AppKey = c.appKey
	m.AcceptedAt = c.s.opts.Now().UnixMilli()

	// The push outlives the usual request timeout: the caller chose how
	// long to wait, and recipients still pending at the deadline go on.
	ctx, cancel := context.WithTimeout(c.r.Context(), wait)
	defer cancel()
	res, err := c.s.opts.Backend.Push(ctx, m)
	if err != nil {
		return c.backendError(err)
	}
	if e := res.GetError(); e != nil {
		return fromReply(e)
	}
	c.data(pushJSON{
		MsgID:      orText(res.GetMsgId(), m.MsgId),
		Recipients: res.GetRecipients(),
		Pushed:     res.GetPushed(),
		Skipped:    res.GetSkipped(),
		Failed:     res.GetFailed(),
		Pending:    res.GetPending(),
		Duplicate:  res.GetDuplicate(),
	})
	return nil
}

// pushWait reads ?wait= (seconds, 0-120, default 30).
func pushWait(q map[string][]string) (time.Duration, error) {
	v, ok := q["wait"]
	if !ok {
		return defaultPushWait, nil
	}
	sec, err := strconv.Atoi(v[0])
	if err != nil || sec < 0 || sec > maxPushWaitSec {
		return 0, errInvalid("wait")
	}
	return time.Duration(sec) * time.Second, nil
}

// readMessage decodes and validates the message: field rules first, in
// the order of the §11.8 table, then the size of body and ext as sent.
func (c *call) readMessage() (*messages.PushMessage, error) {
	var req messageRequest
	raw, err := c.decode(&req)
	if err != nil {
		return nil, err
	}
	m := &messages.PushMessage{
		MsgId:     req.MsgID,
		From:      req.From,
		ChatType:  req.ChatType,
		To:        req.To,
		GroupId:   req.GroupID,
		Members:   req.Members,
		Ext:       req.Ext,
		Route:     req.Route,
		Timestamp: req.Timestamp,
		Remarks:   req.Remarks,
	}
	if req.Body != nil {
		m.Body = &messages.Body{Type: req.Body.Type, Text: deref(req.Body.Text),
			Translations: req.Body.Translations}
	}
	if e := messages.ValidatePushMessage(m); e != nil {
		return nil, fromReply(e)
	}
	if m.Body.Type == "txt" && req.Body.Text == nil {
		return nil, errInvalid("body.text")
	}

	// Measure what was sent, unknown body fields included.
	var parts rawParts
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, errInvalid("body")
	}
	var body bytes.Buffer
	if err := json.Compact(&body, parts.Body); err != nil {
		return nil, errInvalid("body")
	}
	ext, _ := messages.CompactExt(parts.Ext)
	if body.Len()+len(ext) > messages.MaxMessageBytes {
		return nil, errTooLarge()
	}
	m.Ext = nil
	if len(parts.Ext) > 0 {
		m.Ext = ext
	}
	return m, nil
}
