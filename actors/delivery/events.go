package delivery

import (
	"encoding/json"
	"time"

	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/messages"
)

// outcomeEvent describes one binding's outcome for the webhook and the
// statistics (SPEC.md §12, §11.5).
func outcomeEvent(s *messages.Send, provider string, r *messages.BindingResult,
	now time.Time) *events.Event {

	ev := &events.Event{
		AppKey:       s.AppKey,
		MsgID:        s.MsgId,
		From:         s.From,
		ChatType:     s.ChatType,
		Target:       s.Recipient,
		GroupID:      s.GroupId,
		DeviceID:     s.DeviceId,
		DeviceToken:  s.DeviceToken,
		NotifierName: s.NotifierName,
		Provider:     provider,
		Status:       r.Status,
		Detail:       r.Detail,
		Step:         stepOf(r.Detail),
		ErrorText:    r.VendorReason,
		Time:         now,
	}
	// Steps 12 and 13 stop before any vendor is involved: reported, not
	// counted. Step 14 and every send outcome count (SPEC.md §11.5).
	ev.Counted = ev.Step >= 14
	if ev.Step == 15 {
		ev.Payload = events.PayloadOf(s.Notification)
		ev.VendorResponse = vendorAnswer(r)
	}
	return ev
}

// stepOf is the pipeline step (SPEC.md §2.1) that gave detail.
func stepOf(detail string) int {
	switch detail {
	case DetailNoNotifier:
		return 12
	case DetailDisabled:
		return 13
	case DetailNoPushToken:
		return 14
	}
	return 15
}

// vendorAnswer summarizes the vendor's answer as JSON for the webhook's
// data field.
//
// TODO: the vendor clients do not keep the answer body, so this is the
// status, reason and id Herald read from it rather than the body itself.
func vendorAnswer(r *messages.BindingResult) []byte {
	if r.HttpStatus == 0 && r.VendorReason == "" && r.VendorId == "" {
		return nil
	}
	b, _ := json.Marshal(struct {
		Status int32  `json:"status,omitempty"`
		Reason string `json:"reason,omitempty"`
		ID     string `json:"id,omitempty"`
	}{r.HttpStatus, r.VendorReason, r.VendorId})
	return b
}
