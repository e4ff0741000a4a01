package vendors

import "errors"

// Failures without a vendor answer that every client may report in
// Result.Err. Vendor packages wrap these in their own sentinels (with
// fmt.Errorf("<vendor>: %w", ...)) so the delivery actor names the reason
// with errors.Is without importing any vendor package.
var (
	// ErrClosed: Push was called after Close.
	ErrClosed = errors.New("client closed")
	// ErrBadDeviceToken: the token is empty or cannot go in a request.
	ErrBadDeviceToken = errors.New("device token is empty or malformed")
	// ErrPayloadTooLarge: the content does not fit the vendor's limit even
	// after the text was cut; no request was made.
	ErrPayloadTooLarge = errors.New("custom data exceeds the payload limit")
	// ErrBadCustom: the notification's custom data is not a JSON object.
	ErrBadCustom = errors.New("custom data is not a JSON object")
	// ErrCredentialExpired: a client certificate or key has expired.
	ErrCredentialExpired = errors.New("client credential expired")
)
