package api

import (
	"cmp"
	"slices"
	"unicode/utf8"

	"github.com/herald-im/herald/messages"
)

// bindingRequest is the body of PUT /users/{u}/push/binding (§4): all
// three fields must be present as strings.
type bindingRequest struct {
	DeviceID     *string `json:"device_id"`
	DeviceToken  *string `json:"device_token"`
	NotifierName *string `json:"notifier_name"`
}

type bindingJSON struct {
	DeviceID     string `json:"device_id"`
	DeviceToken  string `json:"device_token"`
	NotifierName string `json:"notifier_name"`
}

// bindingList answers bindings sorted by device_id, then notifier_name;
// keep selects which ones.
func bindingList(bs []*messages.Binding, keep func(*messages.Binding) bool) []bindingJSON {
	out := make([]bindingJSON, 0, len(bs))
	for _, b := range bs {
		if keep(b) {
			out = append(out, bindingJSON{b.GetDeviceId(), b.GetDeviceToken(),
				b.GetNotifierName()})
		}
	}
	slices.SortFunc(out, func(a, b bindingJSON) int {
		return cmp.Or(cmp.Compare(a.DeviceID, b.DeviceID),
			cmp.Compare(a.NotifierName, b.NotifierName))
	})
	return out
}

// handlePutBinding upserts or deletes bindings and answers the bindings
// of that device after the change.
func handlePutBinding(c *call) error {
	var req bindingRequest
	if _, err := c.decode(&req); err != nil {
		return err
	}
	switch {
	case req.DeviceID == nil:
		return errInvalid("device_id")
	case req.DeviceToken == nil:
		return errInvalid("device_token")
	case req.NotifierName == nil:
		return errInvalid("notifier_name")
	}
	put := &messages.PutBinding{DeviceId: *req.DeviceID, DeviceToken: *req.DeviceToken,
		NotifierName: *req.NotifierName}
	if e := messages.ValidatePutBinding(put); e != nil {
		return fromReply(e)
	}

	m, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, c.params["u"], put)
	r, err := expect[*messages.BindingsReply](c, m, err)
	if err != nil {
		return err
	}
	c.entities(bindingList(r.GetBindings(), func(b *messages.Binding) bool {
		return b.GetDeviceId() == put.DeviceId
	}))
	return nil
}

func handleGetBindings(c *call) error {
	m, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, c.params["u"],
		&messages.GetBindings{})
	r, err := expect[*messages.BindingsReply](c, m, err)
	if err != nil {
		return err
	}
	c.entities(bindingList(r.GetBindings(), func(*messages.Binding) bool { return true }))
	return nil
}

// presenceRequest is the body of PUT /users/{u}/presence/{device_id}.
type presenceRequest struct {
	State     *string `json:"state"`
	Timestamp *int64  `json:"timestamp"`
}

var presenceStates = map[string]messages.PresenceState{
	"online":  messages.PresenceState_PRESENCE_ONLINE,
	"offline": messages.PresenceState_PRESENCE_OFFLINE,
	"kicked":  messages.PresenceState_PRESENCE_KICKED,
}

func stateName(s messages.PresenceState) string {
	for name, v := range presenceStates {
		if v == s {
			return name
		}
	}
	return ""
}

type presenceJSON struct {
	DeviceID        string `json:"device_id"`
	State           string `json:"state"`
	OfflineMsgCount int64  `json:"offline_msg_count"`
}

// handlePresence applies a device's presence change (§3.1, §11.9).
func handlePresence(c *call) error {
	var req presenceRequest
	if _, err := c.decode(&req); err != nil {
		return err
	}
	ev := &messages.PresenceEvent{
		AppKey:    c.appKey,
		User:      c.params["u"],
		DeviceId:  c.params["device_id"],
		State:     presenceStates[deref(req.State)],
		Timestamp: derefInt(req.Timestamp),
	}
	if e := messages.ValidatePresence(ev); e != nil {
		return fromReply(e)
	}

	m, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, ev.User, ev)
	r, err := expect[*messages.PresenceReply](c, m, err)
	if err != nil {
		return err
	}
	c.data(presenceJSON{
		DeviceID:        orText(r.GetDeviceId(), ev.DeviceId),
		State:           stateName(r.GetState()),
		OfflineMsgCount: r.GetOfflineMsgCount(),
	})
	return nil
}

// handleOfflineCount answers {"<u>": n}: the largest badge counter among
// the user's devices, or one device's with ?device_id= (§3.3).
func handleOfflineCount(c *call) error {
	q := c.r.URL.Query()
	device := q.Get("device_id")
	if q.Has("device_id") &&
		(device == "" || !utf8.ValidString(device) ||
			utf8.RuneCountInString(device) > messages.MaxDeviceIDChars) {
		return errInvalid("device_id")
	}

	user := c.params["u"]
	m, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, user,
		&messages.GetBadge{DeviceId: device})
	r, err := expect[*messages.BadgeReply](c, m, err)
	if err != nil {
		return err
	}
	c.data(map[string]int64{user: r.GetCount()})
	return nil
}

func derefInt(v *int64) int64 {
	if v == nil {
		return 0
	}
	return *v
}
