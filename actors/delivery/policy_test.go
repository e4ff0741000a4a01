package delivery

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

func TestRetryPolicyNext(t *testing.T) {
	p := retryPolicy{maxRetries: 2, window: 30 * time.Second, base: time.Second,
		rnd: func() float64 { return 0.5 }} // jitter factor 1
	first := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	res := func(c vendors.Class, ra time.Duration) vendors.Result {
		return vendors.Result{Class: c, RetryAfter: ra}
	}

	tests := []struct {
		name    string
		res     vendors.Result
		retries int
		now     time.Time
		delay   time.Duration
		again   bool
	}{
		{"delivered", res(vendors.Delivered, 0), 0, first, 0, false},
		{"token invalid", res(vendors.TokenInvalid, 0), 0, first, 0, false},
		{"payload", res(vendors.PayloadError, 0), 0, first, 0, false},
		{"credential", res(vendors.CredentialError, 0), 0, first, 0, false},
		{"retryable first", res(vendors.Retryable, 0), 0, first, time.Second, true},
		{"retryable second", res(vendors.Retryable, 0), 1, first, 2 * time.Second, true},
		{"budget spent", res(vendors.Retryable, 0), 2, first, 0, false},
		{"retry-after wins", res(vendors.Retryable, 5*time.Second), 0, first,
			5 * time.Second, true},
		{"throttled default 10 s", res(vendors.Throttled, 0), 0, first,
			10 * time.Second, true},
		{"throttled retry-after", res(vendors.Throttled, 3*time.Second), 0, first,
			3 * time.Second, true},
		{"ends exactly at window", res(vendors.Retryable, 0), 1,
			first.Add(28 * time.Second), 2 * time.Second, true},
		{"past window", res(vendors.Retryable, 0), 1,
			first.Add(28*time.Second + time.Millisecond), 0, false},
		{"retry-after past window", res(vendors.Throttled, 31*time.Second), 0, first,
			0, false},
	}
	for _, tt := range tests {
		delay, again := p.next(tt.res, tt.retries, first, tt.now)
		if delay != tt.delay || again != tt.again {
			t.Errorf("%s: next = %v, %v; want %v, %v", tt.name, delay, again,
				tt.delay, tt.again)
		}
	}
}

func TestAPNsID(t *testing.T) {
	uuid := regexp.MustCompile(
		`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]string{}
	for _, msg := range []string{"m1", "m2", ""} {
		for _, tok := range []string{"aa", "bb", "m1"} {
			id := apnsID(msg, tok)
			if !uuid.MatchString(id) {
				t.Errorf("apnsID(%q, %q) = %q, want a lowercase v5 UUID", msg, tok, id)
			}
			if id != apnsID(msg, tok) {
				t.Errorf("apnsID(%q, %q) is not stable", msg, tok)
			}
			key := msg + "/" + tok
			if prev, dup := seen[id]; dup {
				t.Errorf("apnsID(%s) = apnsID(%s) = %s", key, prev, id)
			}
			seen[id] = key
		}
	}
	// The separator keeps ("m1","aa") and ("m","1aa") apart.
	if apnsID("m1", "aa") == apnsID("m", "1aa") {
		t.Error("apnsID ignores where the message id ends")
	}
}

func TestOutcome(t *testing.T) {
	s := &messages.Send{MsgId: "m1", Recipient: "bob", DeviceId: "d1", NotifierName: "ios"}
	urlErr := fmt.Errorf("push: %w", context.DeadlineExceeded)

	tests := []struct {
		res                    vendors.Result
		status, detail, reason string
		vendorID               string
		httpStatus             int32
	}{
		{vendors.Result{Class: vendors.Delivered, HTTPStatus: 200, VendorID: "id1"},
			"success", "", "", "id1", 200},
		{vendors.Result{Class: vendors.TokenInvalid, HTTPStatus: 410, Reason: "Unregistered"},
			"fail", DetailPushFailed, "Unregistered", "", 410},
		{vendors.Result{Class: vendors.CredentialError, HTTPStatus: 403,
			Reason: "InvalidProviderToken"},
			"fail", DetailPushFailed, "InvalidProviderToken", "", 403},
		{vendors.Result{Class: vendors.PayloadError,
			Err: fmt.Errorf("x: %w", vendors.ErrPayloadTooLarge)},
			"fail", DetailPushFailed, "PayloadTooLarge", "", 0},
		{vendors.Result{Class: vendors.PayloadError,
			Err: fmt.Errorf("x: %w", vendors.ErrBadCustom)},
			"fail", DetailPushFailed, "BadCustomData", "", 0},
		{vendors.Result{Class: vendors.CredentialError,
			Err: fmt.Errorf("x: %w", vendors.ErrCredentialExpired)},
			"fail", DetailPushFailed, "CertificateExpired", "", 0},
		{vendors.Result{Class: vendors.Retryable, HTTPStatus: 500},
			"error", DetailPushFailed, "http 500", "", 500},
		{vendors.Result{Class: vendors.Retryable, Err: urlErr},
			"error", DetailPushFailed, "timeout", "", 0},
		{vendors.Result{Class: vendors.Retryable, Err: errors.New("connection refused")},
			"error", DetailPushFailed, "network error", "", 0},
		{vendors.Result{Class: vendors.Throttled, HTTPStatus: 429, Reason: "TooManyRequests"},
			"error", DetailPushFailed, "TooManyRequests", "", 429},
	}
	for _, tt := range tests {
		o := outcome(s, tt.res)
		r := o.Result
		if o.MsgId != "m1" || o.Recipient != "bob" || r.DeviceId != "d1" ||
			r.NotifierName != "ios" || r.Status != tt.status || r.Detail != tt.detail ||
			r.VendorReason != tt.reason || r.VendorId != tt.vendorID ||
			r.HttpStatus != tt.httpStatus {
			t.Errorf("outcome(%+v) = %v, want %s %q %q %q %d", tt.res, o, tt.status,
				tt.detail, tt.reason, tt.vendorID, tt.httpStatus)
		}
	}
}
