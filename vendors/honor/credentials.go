// Package honor is Herald's client of Honor Push (provider "honor",
// VENDORS.md §2.4): an OAuth2 client_credentials token cached per
// notifier, one HTTP request per device token to sendMessage, the request
// built as SPEC.md §10 says and every answer classified by §1.8.
//
// The delivery actor gets clients through vendors.Lookup("honor"); the
// package registers itself from init, so binaries import vendors/all.
package honor

import "github.com/herald-im/herald/vendors"

// Provider is the notifier provider this package serves.
const Provider = "honor"

// Credentials are an honor notifier's credential fields (SPEC.md §11.7).
type Credentials struct {
	AppID        string // names the send path
	ClientID     string
	ClientSecret string // never logged

	// Optional notifier defaults; em_android_push_ext overrides them.
	BadgeClass  string // app entry activity class for the badge
	ClickAction string // URL, intent URI or intent action
}

// ParseCredentials reads and checks a notifier's credential fields.
func ParseCredentials(f map[string]string) (*Credentials, error) {
	c := &Credentials{
		AppID:        f["app_id"],
		ClientID:     f["client_id"],
		ClientSecret: f["client_secret"],
		BadgeClass:   f["badge_class"],
		ClickAction:  f["click_action"],
	}
	required := []struct{ name, value string }{
		{"app_id", c.AppID},
		{"client_id", c.ClientID},
		{"client_secret", c.ClientSecret},
	}
	for _, r := range required {
		if r.value == "" {
			return nil, &vendors.FieldError{Field: "credentials." + r.name, Reason: "required"}
		}
	}
	for _, r := range c.AppID {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			r == '-' || r == '_' || r == '.') {
			return nil, &vendors.FieldError{Field: "credentials.app_id",
				Reason: "must be letters, digits, '-' or '_'"}
		}
	}
	return c, nil
}
