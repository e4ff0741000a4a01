// Package vivo is Herald's client for vivo Push (provider "vivo",
// VENDORS.md §2.7): an authToken from /message/auth, signed with MD5 and
// renewed hourly, and one JSON /message/send request per device.
package vivo

import (
	"github.com/herald-im/herald/vendors"
)

// Provider is the notifier provider this package serves.
const Provider = "vivo"

// Push types of the notifier's push_type credential (SPEC.md §11.7).
const (
	PushTypeSystem    = "system"
	PushTypeOperation = "operation"
)

// Credentials are a vivo notifier's credential fields (SPEC.md §11.7).
type Credentials struct {
	AppID       string
	AppKey      string
	AppSecret   string
	PackageName string

	// Category is the default message category; em_android_push_ext
	// vivo_category overrides it.
	Category string
	// ClickActivity is the default activity a tap opens; "" opens the app.
	ClickActivity string
	// PushType is system (the default) or operation.
	PushType string
}

// ParseCredentials checks a notifier's credential map. A missing field
// gives a *vendors.FieldError naming "credentials.<field>".
func ParseCredentials(m map[string]string) (*Credentials, error) {
	c := &Credentials{
		AppID:         m["app_id"],
		AppKey:        m["app_key"],
		AppSecret:     m["app_secret"],
		PackageName:   m["package_name"],
		Category:      m["category"],
		ClickActivity: m["click_activity"],
		PushType:      m["push_type"],
	}

	required := []struct{ name, value string }{
		{"app_id", c.AppID}, {"app_key", c.AppKey},
		{"app_secret", c.AppSecret}, {"package_name", c.PackageName},
	}
	for _, f := range required {
		if f.value == "" {
			return nil, &vendors.FieldError{Field: "credentials." + f.name, Reason: "required"}
		}
	}

	switch c.PushType {
	case "":
		c.PushType = PushTypeSystem
	case PushTypeSystem, PushTypeOperation:
	default:
		return nil, &vendors.FieldError{Field: "credentials.push_type",
			Reason: "must be system or operation"}
	}
	return c, nil
}
