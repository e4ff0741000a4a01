// Package meizu is Herald's client for Meizu Push (provider "meizu",
// VENDORS.md §2.8): one form-encoded pushByPushId request per device,
// signed with an MD5 over the sorted parameters and the app secret. Meizu
// has no auth token.
package meizu

import (
	"github.com/herald-im/herald/vendors"
)

// Provider is the notifier provider this package serves.
const Provider = "meizu"

// Notice types of noticeMsgType (SPEC.md §7.1 meizu_notice_type).
const (
	NoticePublic  = 0
	NoticePrivate = 1
)

// Credentials are a Meizu notifier's credential fields (SPEC.md §11.7).
type Credentials struct {
	AppID       string
	AppSecret   string
	PackageName string

	// ClickActivity is the default activity a tap opens; "" opens the app.
	ClickActivity string
	// NoticeType is the default noticeMsgType, NoticePublic or
	// NoticePrivate.
	NoticeType int
}

// ParseCredentials checks a notifier's credential map. A missing or bad
// field gives a *vendors.FieldError naming "credentials.<field>".
func ParseCredentials(m map[string]string) (*Credentials, error) {
	c := &Credentials{
		AppID:         m["app_id"],
		AppSecret:     m["app_secret"],
		PackageName:   m["package_name"],
		ClickActivity: m["click_activity"],
	}

	required := []struct{ name, value string }{
		{"app_id", c.AppID}, {"app_secret", c.AppSecret}, {"package_name", c.PackageName},
	}
	for _, f := range required {
		if f.value == "" {
			return nil, &vendors.FieldError{Field: "credentials." + f.name, Reason: "required"}
		}
	}

	switch m["notice_type"] {
	case "", "0":
		c.NoticeType = NoticePublic
	case "1":
		c.NoticeType = NoticePrivate
	default:
		return nil, &vendors.FieldError{Field: "credentials.notice_type", Reason: "must be 0 or 1"}
	}
	return c, nil
}
