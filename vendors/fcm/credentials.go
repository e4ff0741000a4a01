// Package fcm is Herald's wire client for Firebase Cloud Messaging HTTP v1
// (provider fcm): it parses a notifier's Google service account, obtains
// OAuth2 access tokens with a signed JWT, turns a vendor-neutral
// messages.Notification into an FCM send request, posts it over HTTP/2 with
// TLS and classifies the answer (VENDORS.md §1, §2.2).
//
// It has no actors and keeps no per-push state beyond the cached access
// token: the delivery actor owns a Client per notifier, decides retries and
// maps classes to statuses.
package fcm

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"

	"github.com/herald-im/herald/vendors"
)

// Provider is the provider name this package serves.
const Provider = "fcm"

// Android priorities FCM takes.
const (
	PriorityHigh   = "HIGH"
	PriorityNormal = "NORMAL"
)

// GoogleTokenURL is Google's OAuth2 token endpoint, used when neither the
// notifier's auth_endpoint nor the service account's token_uri names one.
const GoogleTokenURL = "https://oauth2.googleapis.com/token"

// Credentials are a notifier's parsed FCM credentials.
type Credentials struct {
	// ProjectID is the Firebase project pushes go to: the notifier's
	// project_id, else the service account's.
	ProjectID string
	// ClientEmail is the service account, the JWT issuer.
	ClientEmail string
	// KeyID is the service account's private_key_id, the JWT kid.
	KeyID      string
	PrivateKey *rsa.PrivateKey
	// TokenURI is the service account's token endpoint ("" if absent).
	TokenURI string

	// Notifier options: the Android channel id, the sound when a push
	// names none, and the Android priority (HIGH or NORMAL).
	ChannelID string
	Sound     string
	Priority  string
}

// serviceAccount is the part of a Google service-account JSON Herald uses.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// ParseCredentials checks and parses the credentials of an fcm notifier
// (SPEC.md §11.7). A missing or invalid field gives a *vendors.FieldError
// naming it; the key and the JSON never appear in the error.
func ParseCredentials(creds map[string]string) (*Credentials, error) {
	raw := strings.TrimSpace(creds["service_account"])
	if raw == "" {
		return nil, fieldErr("service_account", "required")
	}
	var sa serviceAccount
	if err := json.Unmarshal([]byte(raw), &sa); err != nil {
		return nil, fieldErr("service_account", "not a JSON object")
	}
	if sa.Type != "" && sa.Type != "service_account" {
		return nil, fieldErr("service_account", "type is not service_account")
	}
	if sa.ClientEmail == "" {
		return nil, fieldErr("service_account", "client_email missing")
	}
	key, err := parseRSAKey(sa.PrivateKey)
	if err != nil {
		return nil, fieldErr("service_account", "private_key: "+err.Error())
	}
	if sa.TokenURI != "" && !httpsURL(sa.TokenURI) {
		return nil, fieldErr("service_account", "token_uri is not an https URL")
	}

	c := &Credentials{
		ProjectID:   strings.TrimSpace(creds["project_id"]),
		ClientEmail: sa.ClientEmail,
		KeyID:       sa.PrivateKeyID,
		PrivateKey:  key,
		TokenURI:    sa.TokenURI,
		ChannelID:   creds["channel_id"],
		Sound:       creds["sound"],
	}
	if c.ProjectID == "" {
		c.ProjectID = sa.ProjectID
	}
	if !validProjectID(c.ProjectID) {
		return nil, fieldErr("project_id", "required (here or in the service account), "+
			"letters, digits, '-' and ':' only")
	}
	c.Priority, err = parsePriority(creds["priority"])
	if err != nil {
		return nil, err
	}
	return c, nil
}

func fieldErr(name, reason string) *vendors.FieldError {
	return &vendors.FieldError{Field: "credentials." + name, Reason: reason}
}

// parsePriority takes high or normal in any case; "" means high, as chat
// notifications should wake the device.
func parsePriority(p string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(p)) {
	case "", PriorityHigh:
		return PriorityHigh, nil
	case PriorityNormal:
		return PriorityNormal, nil
	}
	return "", fieldErr("priority", "must be high or normal")
}

// validProjectID accepts Google project ids, including the legacy
// "domain:project" form; anything that could break the request path is
// refused.
func validProjectID(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == ':' || r == '.' || r == '_'
		if !ok {
			return false
		}
	}
	return true
}

// parseRSAKey reads the service account's PEM key: PKCS#8 as Google
// issues it, or PKCS#1.
func parseRSAKey(text string) (*rsa.PrivateKey, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("missing")
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS#8 or PKCS#1 private key")
	}
	k, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return k, nil
}

// httpsURL reports an absolute https URL without query or fragment.
func httpsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.RawQuery == "" &&
		u.Fragment == ""
}

// baseURL checks an endpoint override: an https URL (FCM is HTTP/2 over
// TLS only), trailing slash dropped; "" gives def.
func baseURL(field, endpoint, def string) (string, error) {
	if endpoint == "" {
		return def, nil
	}
	if !httpsURL(endpoint) {
		return "", &vendors.FieldError{Field: field, Reason: "must be an https URL"}
	}
	return strings.TrimSuffix(endpoint, "/"), nil
}

// tokenURL picks where access tokens come from (VENDORS.md §1.1): the
// notifier's auth_endpoint with the vendor path /token, else the service
// account's token_uri, else Google's.
func tokenURL(authEndpoint string, c *Credentials) (string, error) {
	if authEndpoint != "" {
		base, err := baseURL("auth_endpoint", authEndpoint, "")
		if err != nil {
			return "", err
		}
		return base + "/token", nil
	}
	if c.TokenURI != "" {
		return c.TokenURI, nil
	}
	return GoogleTokenURL, nil
}
