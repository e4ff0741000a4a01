// Package events carries the node-local record of one push decision or
// outcome (SPEC.md §2.1, §2.6) from the user grain and the delivery actors
// to whatever reports on pushes: the app's webhook (§12) and the
// statistics (§11.5).
//
// Producers build one Event per recipient-level stop, per binding-level
// stop with a reason, and per send outcome, and hand it to a Sink. A Sink
// never blocks its caller: a full sink drops the event and counts the drop,
// so reporting can never delay a push. Producers must not modify an Event
// after Emit; sinks must not modify it either, since Fanout shares it.
package events

import (
	"encoding/json"
	"strings"
	"time"
)

// Statuses of an event (SPEC.md §2.1, §2.6).
const (
	StatusSuccess = "success"
	StatusFail    = "fail"
	StatusError   = "error"
)

// Platforms of the statistics (SPEC.md §11.5).
const (
	PlatformAPNs    = "APNS"
	PlatformAndroid = "ANDROID"
)

// Event is one push decision or outcome for one recipient, or for one of
// its bindings.
type Event struct {
	AppKey   string // "org#app"
	MsgID    string
	From     string
	ChatType string // chat or groupchat
	Target   string // the recipient's user id
	GroupID  string // "" for chat

	// The binding's values; all "" for recipient-level events.
	DeviceID     string
	DeviceToken  string
	NotifierName string
	Provider     string // the notifier's provider: apns, fcm, ...

	Status string // StatusSuccess, StatusFail or StatusError
	Detail string // the SPEC reason, "" on success
	// Step is the pipeline step (§2.1) that ended the push, for logs; the
	// webhook's "step" field is always "push".
	Step int
	// VendorResponse is the vendor's answer body as JSON; nil reads {}.
	VendorResponse []byte
	// ErrorText describes a failure for the webhook's e_message. It must
	// not hold credentials or full device tokens.
	ErrorText string
	// Payload is the rendered notification; nil before rendering.
	Payload *Payload
	Time    time.Time
	// Counted marks the events statistics count: step-15 outcomes and
	// step-14 stops.
	Counted bool
}

// Payload is the rendered notification as the webhook reports it: the
// texts, the badge and the custom keys of SPEC.md §7.3.
type Payload struct {
	Title, Content string
	Badge          int64
	F, T, M, G     string
	E              json.RawMessage // nil when the message has no e
}

// Sink receives events. Emit must return at once: when the sink cannot
// take the event now it drops it and counts the drop.
type Sink interface {
	Emit(ev *Event)
}

// Fanout returns a Sink that hands every event to each of sinks in turn.
// Nil sinks are skipped.
func Fanout(sinks ...Sink) Sink {
	kept := make(fanout, 0, len(sinks))
	for _, s := range sinks {
		if s != nil {
			kept = append(kept, s)
		}
	}
	return kept
}

type fanout []Sink

func (f fanout) Emit(ev *Event) {
	for _, s := range f {
		s.Emit(ev)
	}
}

// Discard is a Sink that drops every event, for callers with no reporting.
var Discard Sink = fanout(nil)

// knownProviders are the notifier providers of SPEC.md §11.7.
var knownProviders = map[string]bool{
	"apns": true, "apns-voip": true, "fcm": true, "huawei": true, "honor": true,
	"xiaomi": true, "oppo": true, "vivo": true, "meizu": true,
}

// Channel is the webhook's channel of a provider (SPEC.md §12): APNS for
// apns and apns-voip, ANDROID for fcm, the upper-case name for the other
// known providers, and "" for an empty or unknown one.
func Channel(provider string) string {
	switch {
	case provider == "apns" || provider == "apns-voip":
		return PlatformAPNs
	case provider == "fcm":
		return PlatformAndroid
	case knownProviders[provider]:
		return strings.ToUpper(provider)
	}
	return ""
}

// Platform is the statistics platform of a provider (SPEC.md §11.5): APNS
// for apns and apns-voip, ANDROID for every other provider. An empty
// provider has no platform and reads "".
func Platform(provider string) string {
	switch provider {
	case "":
		return ""
	case "apns", "apns-voip":
		return PlatformAPNs
	}
	return PlatformAndroid
}
