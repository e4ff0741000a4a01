// Package huawei is Herald's client of Huawei Push Kit (provider
// "huawei", VENDORS.md §2.3): an OAuth2 client_credentials token cached
// per notifier, one HTTP request per device token to the v2 send API, the
// request built as SPEC.md §10 says and every answer classified by §1.8.
//
// The delivery actor gets clients through vendors.Lookup("huawei"); the
// package registers itself from init, so binaries import vendors/all.
package huawei

import (
	"github.com/herald-im/herald/vendors"
)

// Provider is the notifier provider this package serves.
const Provider = "huawei"

// Credentials are a huawei notifier's credential fields (SPEC.md §11.7).
type Credentials struct {
	ClientID     string // OAuth client id, also the app id
	ClientSecret string // never logged
	ProjectID    string // names the v2 send path
	PackageName  string // the app's package, for activity intents

	// Optional notifier defaults; em_android_push_ext overrides them.
	Category    string // message category; enables HIGH urgency
	ClickAction string // URL, intent URI or intent action
	Activity    string // activity opened when no click action is set
	BadgeClass  string // app entry activity class for the badge
	ChannelID   string
}

// ParseCredentials reads and checks a notifier's credential fields.
func ParseCredentials(f map[string]string) (*Credentials, error) {
	c := &Credentials{
		ClientID:     f["client_id"],
		ClientSecret: f["client_secret"],
		ProjectID:    f["project_id"],
		PackageName:  f["package_name"],
		Category:     f["category"],
		ClickAction:  f["click_action"],
		Activity:     f["activity"],
		BadgeClass:   f["badge_class"],
		ChannelID:    f["channel_id"],
	}
	required := []struct{ name, value string }{
		{"client_id", c.ClientID},
		{"client_secret", c.ClientSecret},
		{"project_id", c.ProjectID},
		{"package_name", c.PackageName},
	}
	for _, r := range required {
		if r.value == "" {
			return nil, &vendors.FieldError{Field: "credentials." + r.name, Reason: "required"}
		}
	}
	if !pathSafe(c.ProjectID) {
		return nil, &vendors.FieldError{Field: "credentials.project_id",
			Reason: "must be letters, digits, '-' or '_'"}
	}
	return c, nil
}

// pathSafe reports an id that can go into a URL path as it is.
func pathSafe(s string) bool {
	for _, r := range s {
		ok := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return s != ""
}
