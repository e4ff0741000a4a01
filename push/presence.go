package push

import "github.com/herald-im/herald/messages"

// Multi-device policies (SPEC.md §3.2).
const (
	PolicyAllOffline = "all_offline"
	PolicyAnyOffline = "any_offline"
)

// Eligible applies step 1 of SPEC.md §2.1: chatroom messages, cmd messages
// and online-only messages are never pushed and never counted. False means
// a silent stop with no badge count.
func Eligible(m *messages.PushMessage) bool {
	if m == nil {
		return false
	}
	return m.GetChatType() != "chatroom" && m.GetBody().GetType() != "cmd" &&
		m.GetRoute() != "online"
}

// CountBadge applies SPEC.md §3.3 for one accepted message: the counter of
// every offline or kicked device grows by 1. It mutates devices. A device
// the grain knows only from a binding must already be in the map (as
// offline) to be counted.
func CountBadge(devices map[string]*messages.DeviceState) {
	for _, d := range devices {
		if d != nil && d.GetState() != messages.PresenceState_PRESENCE_ONLINE {
			d.Badge++
		}
	}
}

// stateOf returns a device's presence; an unseen device is offline (§3.1).
func stateOf(devices map[string]*messages.DeviceState, id string) messages.PresenceState {
	d := devices[id]
	if d == nil || d.GetState() == messages.PresenceState_PRESENCE_UNSPECIFIED {
		return messages.PresenceState_PRESENCE_OFFLINE
	}
	return d.GetState()
}

// recipientOnline is step 2 (§3.2). Devices known only from bindings count
// as offline.
func recipientOnline(policy string, devices map[string]*messages.DeviceState,
	bindings []*messages.Binding) bool {

	online, offline := false, false
	for id := range devices {
		switch stateOf(devices, id) {
		case messages.PresenceState_PRESENCE_ONLINE:
			online = true
		case messages.PresenceState_PRESENCE_OFFLINE:
			offline = true
		}
	}
	for _, b := range bindings {
		if _, seen := devices[b.GetDeviceId()]; !seen {
			offline = true
		}
	}
	if policy == PolicyAnyOffline {
		return online && !offline
	}
	return online
}

// excludedByPresence is step 7 (§3.2): kicked devices never get a push;
// under any_offline online devices do not either.
func excludedByPresence(policy string, state messages.PresenceState) bool {
	switch state {
	case messages.PresenceState_PRESENCE_KICKED:
		return true
	case messages.PresenceState_PRESENCE_ONLINE:
		return policy == PolicyAnyOffline
	}
	return false
}
