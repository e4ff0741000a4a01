package api

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"

	"github.com/herald-im/herald/messages"
)

// stepNames say what each step of SPEC.md §2.1 checks, for the preview's
// explanation of silent stops, which carry no reason.
var stepNames = map[int32]string{
	1:  "message never pushed (chatroom, cmd or online-only)",
	2:  "recipient online",
	3:  "invalid message",
	4:  "message older than 24 h",
	5:  "silent message",
	6:  "recipient has no binding",
	7:  "device excluded by presence",
	8:  "do-not-disturb or notification mode",
	9:  "skipped by channel selection (VoIP)",
	10: "illegal binding",
	11: "excluded by em_push_filter",
	12: "no notifier of that name",
	13: "notifier disabled",
	15: "would be sent",
}

type previewJSON struct {
	MsgID       string               `json:"msg_id"`
	Recipient   string               `json:"recipient"`
	Decision    string               `json:"decision"`
	Duplicate   bool                 `json:"duplicate"`
	Step        int32                `json:"step,omitempty"`
	Reason      string               `json:"reason,omitempty"`
	Explanation string               `json:"explanation,omitempty"`
	Cause       string               `json:"cause,omitempty"`
	Bindings    []previewBindingJSON `json:"bindings"`
}

type previewBindingJSON struct {
	DeviceID     string            `json:"device_id"`
	NotifierName string            `json:"notifier_name"`
	DeviceToken  string            `json:"device_token"`
	Provider     string            `json:"provider"`
	DeviceState  string            `json:"device_state"`
	Decision     string            `json:"decision"`
	Step         int32             `json:"step"`
	Reason       string            `json:"reason"`
	Explanation  string            `json:"explanation"`
	Notification *notificationJSON `json:"notification,omitempty"`
	Request      *wireJSON         `json:"request,omitempty"`
	RenderError  string            `json:"render_error,omitempty"`
}

// notificationJSON is the vendor-neutral rendered notification.
type notificationJSON struct {
	Title            string          `json:"title"`
	Subtitle         string          `json:"subtitle,omitempty"`
	Body             string          `json:"content"`
	Badge            int64           `json:"badge"`
	Sound            string          `json:"sound,omitempty"`
	Category         string          `json:"category,omitempty"`
	ThreadID         string          `json:"thread_id,omitempty"`
	MutableContent   bool            `json:"mutable_content,omitempty"`
	ContentAvailable bool            `json:"content_available,omitempty"`
	CollapseKey      string          `json:"collapse_key"`
	Custom           json.RawMessage `json:"custom"`
}

// wireJSON is the vendor request; a JSON body is shown as JSON.
type wireJSON struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
}

// handlePreview runs the pipeline for one recipient against live state
// without sending or counting anything, and explains the outcome.
func handlePreview(c *call) error {
	raw, err := io.ReadAll(c.r.Body)
	if err != nil {
		return errInvalid("body")
	}
	var target struct {
		Recipient *string `json:"recipient"`
	}
	if json.Unmarshal(raw, &target) != nil {
		return errInvalid("body")
	}
	if target.Recipient == nil || *target.Recipient == "" {
		return errInvalid("recipient")
	}
	c.r.Body = io.NopCloser(bytes.NewReader(raw))
	m, err := c.readMessage()
	if err != nil {
		return err
	}
	recipients := messages.NormalizeRecipients(m)
	recipient := strings.ToLower(*target.Recipient)
	if m.ChatType != "chatroom" && !slices.Contains(recipients, recipient) {
		return errInvalid("recipient")
	}
	m.AppKey = c.appKey
	m.AcceptedAt = c.s.opts.Now().UnixMilli()

	sender, err := c.userRecordOf(m.From)
	if err != nil {
		return err
	}
	reply, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, recipient,
		&messages.Preview{Message: m, SenderDisplayName: sender.GetNickname()})
	r, err := expect[*messages.PreviewReply](c, reply, err)
	if err != nil {
		return err
	}
	c.data(previewOf(m.MsgId, r))
	return nil
}

// userRecordOf reads another user's record (the sender's nickname).
func (c *call) userRecordOf(user string) (*messages.UserRecord, error) {
	reply, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, user, &messages.GetUser{})
	r, err := expect[*messages.UserReply](c, reply, err)
	if err != nil {
		return nil, err
	}
	return r.GetUser(), nil
}

func previewOf(msgID string, r *messages.PreviewReply) previewJSON {
	out := previewJSON{
		MsgID:     msgID,
		Recipient: r.GetRecipient(),
		Duplicate: r.GetDuplicate(),
		Decision:  "stop",
		Bindings:  []previewBindingJSON{},
	}
	if r.GetStep() != 0 {
		out.Step, out.Reason, out.Cause = r.GetStep(), r.GetReason(), r.GetCause()
		out.Explanation = stepNames[r.GetStep()]
		return out
	}
	for _, b := range r.GetBindings() {
		pb := previewBindingJSON{
			DeviceID:     b.GetDeviceId(),
			NotifierName: b.GetNotifierName(),
			DeviceToken:  b.GetDeviceToken(),
			Provider:     b.GetProvider(),
			DeviceState:  b.GetDeviceState(),
			Decision:     "stop",
			Step:         b.GetStep(),
			Reason:       b.GetReason(),
			Explanation:  stepNames[b.GetStep()],
			RenderError:  b.GetRenderError(),
		}
		if n := b.GetNotification(); n != nil {
			pb.Decision, out.Decision = "push", "push"
			pb.Notification = notificationOf(n)
		}
		if w := b.GetRequest(); w != nil {
			pb.Request = &wireJSON{Method: w.GetMethod(), URL: w.GetUrl(),
				Headers: w.GetHeaders(), Body: bodyOf(w.GetBody())}
		}
		out.Bindings = append(out.Bindings, pb)
	}
	return out
}

func notificationOf(n *messages.Notification) *notificationJSON {
	out := &notificationJSON{
		Title:            n.GetTitle(),
		Subtitle:         n.GetSubtitle(),
		Body:             n.GetBody(),
		Badge:            n.GetBadge(),
		Sound:            n.GetSound(),
		Category:         n.GetCategory(),
		ThreadID:         n.GetThreadId(),
		MutableContent:   n.GetMutableContent(),
		ContentAvailable: n.GetContentAvailable(),
		CollapseKey:      n.GetCollapseKey(),
		Custom:           json.RawMessage("{}"),
	}
	if json.Valid(n.GetCustom()) {
		out.Custom = n.GetCustom()
	}
	return out
}

// bodyOf shows a JSON body as JSON and anything else as text.
func bodyOf(b []byte) any {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}
