package push

import (
	"strings"
	"time"

	"github.com/herald-im/herald/messages"
)

// Stop reasons of SPEC.md §2.1 and §12, as sent in webhook events.
const (
	ReasonInvalidMessage = "invalid message"
	ReasonExpired        = "expire message"
	ReasonMessageIgnore  = "message ignore push"
	ReasonNoBinding      = "no push binding"
	ReasonUserIgnore     = "user ignore push"
	ReasonIllegalBinding = "illegal binding"
	ReasonFiltered       = "ignore push device id"
	ReasonNoNotifier     = "no notifier exist"
	ReasonDisabled       = "notifier disabled"
)

// Provider names that the decision itself depends on (§2.5, §10).
const (
	ProviderAPNs     = "apns"
	ProviderAPNsVoIP = "apns-voip"
)

// maxAge is the age after which a message is no longer pushed (step 4).
const maxAge = 24 * time.Hour

// Input is everything Decide needs for one (message, recipient) pair.
type Input struct {
	Message *messages.PushMessage
	// Ext is the message's parsed ext; nil means it did not parse, so the
	// message is invalid (step 3).
	Ext *Ext
	// Recipient is the recipient's user id (lower-cased by Decide).
	Recipient string
	// User is the recipient's record; nil when it has no state yet.
	User *messages.UserRecord
	// Devices holds presence and the badges already counted by CountBadge.
	Devices map[string]*messages.DeviceState
	// App supplies the push config, notifiers and templates.
	App *messages.AppRecord
	// SenderDisplayName is the sender's push nickname or user id (§8.1),
	// resolved once per message; "" falls back to the sender id.
	SenderDisplayName string
	// Now is the processing time, for expiry and DND.
	Now time.Time
}

// Stop is where the pipeline stopped, with the step number of §2.1. An
// empty Reason is a silent stop: no event, no statistics.
type Stop struct {
	Step   int
	Reason string
}

// BindingDecision is the outcome of steps 7-15 for one binding.
type BindingDecision struct {
	Binding      *messages.Binding
	Notifier     *messages.Notifier     // set when the binding's notifier was found
	Stop         *Stop                  // nil => send Notification
	Notification *messages.Notification // rendered, vendor-neutral
}

// Decision is the outcome for one recipient.
type Decision struct {
	// Stop is the recipient-level stop, nil if the recipient proceeded to
	// its bindings. Bindings is nil whenever Stop is set.
	Stop     *Stop
	Bindings []BindingDecision
}

// Decide runs the pipeline of SPEC.md §2.1 (steps 1-13, and the rendering
// of step 15) for one recipient. Step 14 (vendor credentials) belongs to
// the delivery actor. Decide does not modify its input; the badge must
// already have been counted with CountBadge.
func Decide(in Input) Decision {
	// Ids are lower-cased on input; repeat it here so that a caller's slip
	// cannot break mention and remark matching.
	in.Recipient = strings.ToLower(in.Recipient)
	m := in.Message
	cfg := in.App.GetConfig()
	bindings := in.User.GetBindings()

	// Steps 1-6 look at the message and the recipient as a whole.
	if !Eligible(m) {
		return stopAt(1, "")
	}
	if recipientOnline(cfg.GetMultiDevicePolicy(), in.Devices, bindings) {
		return stopAt(2, "")
	}
	if in.Ext == nil || !validMessage(m) {
		return stopAt(3, ReasonInvalidMessage)
	}
	if expired(m, in.Now) {
		return stopAt(4, ReasonExpired)
	}
	if in.Ext.silent {
		return stopAt(5, ReasonMessageIgnore)
	}
	if len(bindings) == 0 {
		return stopAt(6, ReasonNoBinding)
	}

	// Step 7 drops the bindings of devices the policy excludes; the
	// recipient stops silently when none is left.
	excluded := 0
	for _, b := range bindings {
		if excludedByPresence(cfg.GetMultiDevicePolicy(), stateOf(in.Devices, b.GetDeviceId())) {
			excluded++
		}
	}
	if excluded == len(bindings) {
		return stopAt(7, "")
	}

	// Step 8: DND and notification mode, which only a forced message skips.
	if !in.Ext.forced && in.userIgnores() {
		return stopAt(8, ReasonUserIgnore)
	}

	// Steps 9-15 per binding; a stop on one never affects another.
	r := newRendering(&in)
	out := make([]BindingDecision, len(bindings))
	for i, b := range bindings {
		out[i] = in.decideBinding(b, bindings, r)
	}
	return Decision{Bindings: out}
}

func stopAt(step int, reason string) Decision {
	return Decision{Stop: &Stop{Step: step, Reason: reason}}
}

// decideBinding runs steps 7 and 9-13 for one binding and renders the
// notification of step 15 when it passes.
func (in *Input) decideBinding(b *messages.Binding, all []*messages.Binding,
	r *rendering) BindingDecision {

	n := in.App.GetNotifiers()[b.GetNotifierName()]
	d := BindingDecision{Binding: b, Notifier: n}
	policy := in.App.GetConfig().GetMultiDevicePolicy()

	switch {
	case excludedByPresence(policy, stateOf(in.Devices, b.GetDeviceId())):
		d.Stop = &Stop{Step: 7}
	case !in.channelSelected(b, n, all):
		d.Stop = &Stop{Step: 9}
	case b.GetDeviceToken() == "" || b.GetNotifierName() == "":
		d.Stop = &Stop{Step: 10, Reason: ReasonIllegalBinding}
	case !in.Ext.filter.passes(b):
		d.Stop = &Stop{Step: 11, Reason: ReasonFiltered}
	case n == nil:
		d.Stop = &Stop{Step: 12, Reason: ReasonNoNotifier}
	case !n.GetEnabled():
		d.Stop = &Stop{Step: 13, Reason: ReasonDisabled}
	default:
		d.Notification = r.notification(b, n)
	}
	return d
}

// channelSelected is step 9 (§2.5): VoIP bindings serve only calls, and a
// call skips the apns binding of a device that has a VoIP binding.
func (in *Input) channelSelected(b *messages.Binding, n *messages.Notifier,
	all []*messages.Binding) bool {

	switch n.GetProvider() {
	case ProviderAPNsVoIP:
		return in.Ext.call
	case ProviderAPNs:
		if !in.Ext.call {
			return true
		}
		notifiers := in.App.GetNotifiers()
		for _, o := range all {
			if o.GetDeviceId() == b.GetDeviceId() &&
				notifiers[o.GetNotifierName()].GetProvider() == ProviderAPNsVoIP {
				return false
			}
		}
	}
	return true
}

// passes applies em_push_filter (§7.2); ignore beats accept.
func (f *pushFilter) passes(b *messages.Binding) bool {
	if !f.present {
		return true
	}
	return listAllows(f.acceptDevice, f.ignoreDevice, b.GetDeviceId()) &&
		listAllows(f.acceptNotifier, f.ignoreNotifier, b.GetNotifierName())
}

func listAllows(accept, ignore []string, v string) bool {
	if len(accept) > 0 && !contains(accept, v) {
		return false
	}
	return !contains(ignore, v)
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// Body types a message may have (§2.2).
var validBodyTypes = map[string]bool{
	"txt": true, "img": true, "audio": true, "video": true,
	"file": true, "loc": true, "custom": true, "cmd": true,
}

// maxMessageBytes bounds the compact JSON of body and ext together (§2.2).
const maxMessageBytes = 5120

// validMessage checks §2.2 for a message whose ext parsed as an object.
// A txt body always has a string text here: the wire type is a string.
func validMessage(m *messages.PushMessage) bool {
	body := m.GetBody()
	if !validBodyTypes[body.GetType()] {
		return false
	}
	extLen := len(m.GetExt())
	if extLen == 0 {
		extLen = len("{}")
	}
	return bodyJSONLen(body)+extLen <= maxMessageBytes
}

// bodyJSONLen is the length of the compact JSON of body as ingestion
// would have received it: type, text when non-empty, translations when
// any.
func bodyJSONLen(b *messages.Body) int {
	n := len(`{"type":}`) + stringLen(b.GetType())
	if b.GetText() != "" {
		n += len(`,"text":`) + stringLen(b.GetText())
	}
	if tr := b.GetTranslations(); len(tr) > 0 {
		n += len(`,"translations":{}`) + len(tr) - 1
		for k, v := range tr {
			n += stringLen(k) + 1 + stringLen(v)
		}
	}
	return n
}

// expired is step 4. A message without a timestamp takes its acceptance
// time; one with neither never expires.
func expired(m *messages.PushMessage, now time.Time) bool {
	ts := m.GetTimestamp()
	if ts == 0 {
		ts = m.GetAcceptedAt()
	}
	return ts > 0 && now.UnixMilli()-ts > maxAge.Milliseconds()
}
