package delivery

import (
	"context"
	"errors"
	"strconv"

	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/apns"
)

// vendorReason names why an attempt ended, for webhooks and logs: the
// vendor's own reason when it gave one, else a short fixed phrase. Error
// texts are never copied: they may hold a URL with the device token.
func vendorReason(res apns.Result) string {
	if res.Reason != "" {
		return res.Reason
	}

	switch {
	case res.Class == vendors.Delivered:
		return ""
	case errors.Is(res.Err, apns.ErrPayloadTooLarge):
		return "PayloadTooLarge"
	case errors.Is(res.Err, apns.ErrBadCustom):
		return "BadCustomData"
	case errors.Is(res.Err, apns.ErrCertificateExpired):
		return "CertificateExpired"
	case errors.Is(res.Err, apns.ErrBadDeviceToken):
		return "BadDeviceToken"
	case errors.Is(res.Err, apns.ErrClosed):
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
