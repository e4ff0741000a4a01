// Package vendors holds what every vendor wire client shares: the outcome
// classes of one push attempt (VENDORS.md §1.4), the trust pool for vendor
// TLS, device-token masking for logs and the retry backoff of §1.5.
//
// Everything here is pure: no goroutines, no clock. Callers pass the time
// and the random source they want.
package vendors

import "fmt"

// Class is the outcome class of one push attempt. Each attempt ends in
// exactly one class; the delivery actor maps the final one to a SPEC.md §2.6
// status.
type Class int

const (
	// Delivered: the vendor accepted the push.
	Delivered Class = iota
	// TokenInvalid: the device token is not, or no longer, valid.
	TokenInvalid
	// Retryable: a transient failure (5xx, network error, timeout).
	Retryable
	// Throttled: the sender is over a rate or quota.
	Throttled
	// CredentialError: the notifier's credential or config was refused.
	CredentialError
	// PayloadError: the vendor refused the content.
	PayloadError
)

// String gives the class name used by VENDORS.md, logs and metrics.
func (c Class) String() string {
	switch c {
	case Delivered:
		return "delivered"
	case TokenInvalid:
		return "token-invalid"
	case Retryable:
		return "retryable"
	case Throttled:
		return "throttled"
	case CredentialError:
		return "credential-error"
	case PayloadError:
		return "payload-error"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Send statuses of SPEC.md §2.6.
const (
	StatusSuccess = "success"
	StatusFail    = "fail"
	StatusError   = "error"
)

// Status maps the final class of a push to its SPEC.md §2.6 status: a push
// the vendor accepted is a success, one it rejected is a fail, and one that
// still failed transiently after the retry budget is an error.
func (c Class) Status() string {
	switch c {
	case Delivered:
		return StatusSuccess
	case Retryable, Throttled:
		return StatusError
	}
	return StatusFail
}

// Retries reports whether an attempt of this class may be retried within
// the budget of VENDORS.md §1.5.
func (c Class) Retries() bool {
	return c == Retryable || c == Throttled
}
