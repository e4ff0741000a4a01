package apns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"testing"

	"github.com/herald-im/herald/vendors"
)

func TestParseCredentialsValid(t *testing.T) {
	tc := makeTestCreds(t)

	c, err := ParseCredentials("apns", tc.p8)
	if err != nil {
		t.Fatalf("ParseCredentials(p8) = %v", err)
	}
	if c.AuthType != AuthP8 || c.KeyID != "KEY1234567" || c.TeamID != "TEAM123456" ||
		c.BundleID != "im.herald.test" || c.PrivateKey == nil {
		t.Errorf("ParseCredentials(p8) = %+v, want the p8 fields", c)
	}
	if !c.PrivateKey.PublicKey.Equal(tc.pub) {
		t.Error("ParseCredentials(p8) parsed a different key")
	}

	withSound := maps.Clone(tc.p12)
	withSound["default_sound"] = "ding.caf"
	c, err = ParseCredentials("apns-voip", withSound)
	if err != nil {
		t.Fatalf("ParseCredentials(p12) = %v", err)
	}
	if c.AuthType != AuthP12 || c.Certificate.Leaf == nil || c.CertNotAfter.IsZero() ||
		c.DefaultSound != "ding.caf" || c.Provider != ProviderVoIP {
		t.Errorf("ParseCredentials(p12) = %+v, want certificate and sound", c)
	}
}

func TestParseCredentialsInvalid(t *testing.T) {
	tc := makeTestCreds(t)
	rsaPEM := func() string {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}()

	tests := []struct {
		name     string
		provider string
		base     map[string]string
		set      map[string]string
		drop     string
		field    string
	}{
		{"provider", "fcm", tc.p8, nil, "", "provider"},
		{"no bundle", "apns", tc.p8, nil, "bundle_id", "credentials.bundle_id"},
		{"bundle space", "apns", tc.p8, map[string]string{"bundle_id": "a b"}, "",
			"credentials.bundle_id"},
		{"auth type", "apns", tc.p8, map[string]string{"auth_type": "p9"}, "",
			"credentials.auth_type"},
		{"no key id", "apns", tc.p8, nil, "key_id", "credentials.key_id"},
		{"no team", "apns", tc.p8, nil, "team_id", "credentials.team_id"},
		{"no key", "apns", tc.p8, nil, "private_key", "credentials.private_key"},
		{"key not pem", "apns", tc.p8, map[string]string{"private_key": "abc"}, "",
			"credentials.private_key"},
		{"key p384", "apns", tc.p8, map[string]string{"private_key": rsaPEM}, "",
			"credentials.private_key"},
		{"no cert", "apns", tc.p12, nil, "certificate", "credentials.certificate"},
		{"cert not base64", "apns", tc.p12, map[string]string{"certificate": "!!"}, "",
			"credentials.certificate"},
		{"no password", "apns", tc.p12, nil, "password", "credentials.password"},
		{"wrong password", "apns", tc.p12, map[string]string{"password": "nope"}, "",
			"credentials.certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := maps.Clone(tt.base)
			delete(creds, tt.drop)
			maps.Copy(creds, tt.set)

			c, err := ParseCredentials(tt.provider, creds)
			var fe *vendors.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("ParseCredentials = %v, %v; want FieldError %q", c, err, tt.field)
			}
		})
	}
}
