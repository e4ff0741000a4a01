package user

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/push"
	"github.com/herald-im/herald/vendors"
	// The renderers of every vendor, which the preview looks up by name.
	_ "github.com/herald-im/herald/vendors/all"
)

// preview runs the pipeline for one message against the user's live state
// and says what would happen, without sending, counting a badge,
// remembering the message id or writing anything: the dry run of POST
// /push/preview. Its badge is the one the next push would carry.
func (g *grain) preview(m *messages.Preview) *messages.PreviewReply {
	reply := &messages.PreviewReply{Recipient: g.user}
	if g.failed {
		reply.Error = unavailable()
		return reply
	}
	msg := m.GetMessage()
	if msg == nil {
		reply.Error = messages.InvalidField("message")
		return reply
	}
	_, reply.Duplicate = g.recent[msg.MsgId]
	appRec := g.appRecord()
	if appRec == nil {
		reply.Error = unavailable()
		return reply
	}

	// The badge is counted on a copy, so the live counters stay as they are.
	devices := make(map[string]*messages.DeviceState, len(g.soft.Devices))
	for id, d := range g.soft.Devices {
		devices[id] = proto.Clone(d).(*messages.DeviceState)
	}
	for _, b := range g.rec.Bindings {
		if devices[b.DeviceId] == nil {
			devices[b.DeviceId] = &messages.DeviceState{
				State: messages.PresenceState_PRESENCE_OFFLINE}
		}
	}
	if push.Eligible(msg) {
		push.CountBadge(devices)
	}
	ext, err := push.ParseExt(msg.Ext)
	if err != nil {
		ext = nil
	}
	in := push.Input{
		Message:           msg,
		Ext:               ext,
		Recipient:         g.user,
		User:              g.rec,
		Devices:           devices,
		App:               appRec,
		SenderDisplayName: m.SenderDisplayName,
		Now:               g.deps.Now(),
	}
	d := push.Decide(in)
	if d.Stop != nil {
		reply.Step, reply.Reason = int32(d.Stop.Step), d.Stop.Reason
		if d.Stop.Step == 8 {
			reply.Cause = push.IgnoreCause(in)
		}
		return reply
	}
	for _, b := range d.Bindings {
		reply.Bindings = append(reply.Bindings, previewBinding(b, devices))
	}
	return reply
}

// previewBinding reports one binding's decision and, when it would be
// sent, the vendor request a push would make.
func previewBinding(b push.BindingDecision,
	devices map[string]*messages.DeviceState) *messages.PreviewBinding {
	pb := &messages.PreviewBinding{
		DeviceId:     b.Binding.GetDeviceId(),
		NotifierName: b.Binding.GetNotifierName(),
		DeviceToken:  b.Binding.GetDeviceToken(),
		Provider:     b.Notifier.GetProvider(),
		DeviceState:  stateText(devices[b.Binding.GetDeviceId()].GetState()),
		Step:         15,
		Notification: b.Notification,
	}
	if b.Stop != nil {
		pb.Step, pb.Reason = int32(b.Stop.Step), b.Stop.Reason
		return pb
	}
	render, ok := vendors.LookupRenderer(pb.Provider)
	if !ok {
		pb.RenderError = fmt.Sprintf("no request renderer for provider %q", pb.Provider)
		return pb
	}
	req, err := render(b.Notifier, pb.DeviceToken, b.Notification)
	if err != nil {
		pb.RenderError = err.Error()
		return pb
	}
	pb.Request = &messages.WireRequest{Method: req.Method, Url: req.URL,
		Headers: req.Headers, Body: req.Body}
	return pb
}

func stateText(s messages.PresenceState) string {
	switch s {
	case messages.PresenceState_PRESENCE_ONLINE:
		return "online"
	case messages.PresenceState_PRESENCE_KICKED:
		return "kicked"
	}
	return "offline"
}
