package delivery

import (
	"context"
	"errors"
	"strconv"

	"github.com/herald-im/herald/vendors"
)

// vendorReason names why an attempt ended, for webhooks and logs: the
// vendor's own reason when it gave one, else a short fixed phrase. Error
// texts are never copied: they may hold a URL with the device token.
func vendorReason(res vendors.Result) string {
	if res.Reason != "" {
		return res.Reason
	}

	switch {
	case res.Class == vendors.Delivered:
		return ""
	case errors.Is(res.Err, vendors.ErrPayloadTooLarge):
		return "PayloadTooLarge"
	case errors.Is(res.Err, vendors.ErrBadCustom):
		return "BadCustomData"
	case errors.Is(res.Err, vendors.ErrCredentialExpired):
		return "CertificateExpired"
	case errors.Is(res.Err, vendors.ErrBadDeviceToken):
		return "BadDeviceToken"
	case errors.Is(res.Err, vendors.ErrClosed):
		return "client closed"
	case errors.Is(res.Err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(res.Err, context.Canceled):
		return "canceled"
	case res.HTTPStatus != 0:
		return "http " + strconv.Itoa(res.HTTPStatus)
	}
	return "network error"
}
