package delivery

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Details and reasons of SPEC.md §2.1 and §2.6 that outcomes carry.
const (
	DetailPushFailed   = "push yet but fail"
	DetailNoPushToken  = "get push token fail"
	DetailNoNotifier   = "no notifier exist"
	DetailDisabled     = "notifier disabled"
	ReasonOverloaded   = "overloaded"
	ReasonShuttingDown = "shutting down"
)

// retryPolicy is the retry budget of SPEC.md §2.6 and VENDORS.md §1.5. It
// is pure: the caller passes the clock reading and the random source.
type retryPolicy struct {
	maxRetries int
	window     time.Duration
	base       time.Duration
	rnd        func() float64
}

// next decides, after an attempt that ended in res, whether to retry and
// after which delay. retries is how many retries were already made; first
// is when the first attempt started. A delay that would end past the window
// ends the push.
func (p retryPolicy) next(res vendors.Result, retries int, first, now time.Time) (
	time.Duration, bool) {

	if !res.Class.Retries() || retries >= p.maxRetries {
		return 0, false
	}

	retryAfter := res.RetryAfter
	if res.Class == vendors.Throttled && retryAfter == 0 {
		retryAfter = vendors.ThrottledDelay
	}
	delay := vendors.Backoff(retries, p.base, retryAfter, p.rnd)
	if now.Add(delay).After(first.Add(p.window)) {
		return 0, false
	}
	return delay, true
}

// apnsID derives the apns-id of a push: a lowercase UUID (version 5 layout
// over SHA-256) fixed per message and device token, so every retry and
// every resend after a crash carries the same id.
func apnsID(msgID, deviceToken string) string {
	h := sha256.New()
	h.Write([]byte("herald apns-id\x00"))
	h.Write([]byte(msgID))
	h.Write([]byte{0})
	h.Write([]byte(deviceToken))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant

	x := hex.EncodeToString(u[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// outcome builds the SendOutcome of a push from its final attempt.
func outcome(s *messages.Send, res vendors.Result) *messages.SendOutcome {
	r := &messages.BindingResult{
		DeviceId:     s.DeviceId,
		NotifierName: s.NotifierName,
		Status:       res.Class.Status(),
		VendorReason: vendorReason(res),
		HttpStatus:   int32(res.HTTPStatus),
	}
	if res.Class == vendors.Delivered {
		r.VendorId = res.VendorID
	} else {
		r.Detail = DetailPushFailed
	}
	return &messages.SendOutcome{MsgId: s.MsgId, Recipient: s.Recipient, Result: r}
}

// stopped builds the outcome of a push that was never sent.
func stopped(s *messages.Send, status, detail, reason string) *messages.SendOutcome {
	return &messages.SendOutcome{
		MsgId:     s.GetMsgId(),
		Recipient: s.GetRecipient(),
		Result: &messages.BindingResult{
			DeviceId:     s.GetDeviceId(),
			NotifierName: s.GetNotifierName(),
			Status:       status,
			Detail:       detail,
			VendorReason: reason,
		},
	}
}
