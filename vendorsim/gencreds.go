package vendorsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
	"software.sslmate.com/src/go-pkcs12"
)

// File names GenCreds writes into its directory.
const (
	CredsConfigFile     = "vendorsim.yaml"
	APNsP8File          = "apns.p8"
	APNsP12File         = "apns.p12"
	APNsP12PasswordFile = "apns.p12.password"
	APNsClientCAFile    = "apns-client-ca.pem"
)

// oidUID is the LDAP userid attribute; Apple puts the bundle id of a push
// certificate there.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// Creds are the credentials GenCreds wrote, as tests need them.
type Creds struct {
	Dir        string // directory holding every file below
	ConfigFile string // vendorsim.yaml, for Config.CredsFile
	APNs       APNsCreds
	// Vendors maps each registered vendor to notifier credentials that
	// the emulator accepts, keyed as Herald's notifier credentials are
	// (apns: the p8 set; fcm: service_account; huawei: client_id, ...).
	Vendors map[string]map[string]string
}

// APNsCreds is one APNs team with a .p8 signing key and a .p12 client
// certificate for the same bundle id.
type APNsCreds struct {
	TeamID   string
	KeyID    string
	BundleID string

	P8PEM  []byte // PKCS#8 EC P-256 private key
	P8File string

	P12Base64    string // the .p12 file, standard base64
	P12File      string
	P12Password  string
	PasswordFile string

	ClientCAPEM  []byte // CA that signed the p12 certificate
	ClientCAFile string
}

// GenCreds writes matching credentials for every registered vendor into
// dir (created if missing): each vendor's key files, then vendorsim.yaml
// with every vendor's section, for Config.CredsFile.
func GenCreds(dir string) (*Creds, error) {
	if dir == "" {
		return nil, fmt.Errorf("gen creds: dir: empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gen creds: create dir: %w", err)
	}

	out := &Creds{Dir: dir, Vendors: map[string]map[string]string{}}
	sections := map[string]any{}
	for _, spec := range registered() {
		g, err := spec.GenCreds(dir)
		if err != nil {
			return nil, fmt.Errorf("gen creds: %s: %w", spec.Name, err)
		}
		sections[spec.Name] = g.Section
		out.Vendors[spec.Name] = g.Fields
		if a, ok := g.Detail.(*APNsCreds); ok {
			out.APNs = *a
		}
	}

	yml, err := yaml.Marshal(sections)
	if err != nil {
		return nil, fmt.Errorf("gen creds: encode config: %w", err)
	}
	out.ConfigFile = filepath.Join(dir, CredsConfigFile)
	if err := os.WriteFile(out.ConfigFile, yml, 0o600); err != nil {
		return nil, fmt.Errorf("gen creds: write config: %w", err)
	}
	return out, nil
}

// genAPNsCreds is the apns GenCreds hook: an APNs .p8 key, a
// legacy-encoded .p12 client certificate with its password and the client
// CA, all for one team and bundle id.
func genAPNsCreds(dir string) (GeneratedCreds, error) {
	now := time.Now()
	a := APNsCreds{
		TeamID:   randomID(10),
		KeyID:    randomID(10),
		BundleID: "im.herald.demo",
	}
	p8Key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return GeneratedCreds{}, fmt.Errorf("generate p8 key: %w", err)
	}
	p8DER, err := x509.MarshalPKCS8PrivateKey(p8Key)
	if err != nil {
		return GeneratedCreds{}, fmt.Errorf("encode p8 key: %w", err)
	}
	a.P8PEM = pemBlock("PRIVATE KEY", p8DER)
	pubDER, err := x509.MarshalPKIXPublicKey(&p8Key.PublicKey)
	if err != nil {
		return GeneratedCreds{}, fmt.Errorf("encode p8 public key: %w", err)
	}

	clientCA, err := newAuthority("vendorsim APNs client CA", now)
	if err != nil {
		return GeneratedCreds{}, err
	}
	a.ClientCAPEM = clientCA.certPEM
	a.P12Password = hex.EncodeToString(randomBytes(12))
	p12, err := makeAPNsP12(clientCA, a.TeamID, a.BundleID, a.P12Password, now)
	if err != nil {
		return GeneratedCreds{}, err
	}
	a.P12Base64 = base64.StdEncoding.EncodeToString(p12)

	a.P8File = filepath.Join(dir, APNsP8File)
	a.P12File = filepath.Join(dir, APNsP12File)
	a.PasswordFile = filepath.Join(dir, APNsP12PasswordFile)
	a.ClientCAFile = filepath.Join(dir, APNsClientCAFile)
	files := []struct {
		path string
		data []byte
	}{
		{a.P8File, a.P8PEM},
		{a.P12File, p12},
		{a.PasswordFile, []byte(a.P12Password)},
		{a.ClientCAFile, a.ClientCAPEM},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return GeneratedCreds{}, fmt.Errorf("write %s: %w", f.path, err)
		}
	}

	section := apnsCredsFile{
		Teams: []apnsTeamFile{{
			TeamID:    a.TeamID,
			Keys:      map[string]string{a.KeyID: string(pemBlock("PUBLIC KEY", pubDER))},
			BundleIDs: []string{a.BundleID},
		}},
		ClientCAPEM: string(a.ClientCAPEM),
	}
	fields := map[string]string{
		"bundle_id":   a.BundleID,
		"auth_type":   "p8",
		"key_id":      a.KeyID,
		"team_id":     a.TeamID,
		"private_key": string(a.P8PEM),
	}
	return GeneratedCreds{Section: section, Fields: fields, Detail: &a}, nil
}

// makeAPNsP12 issues an RSA client certificate shaped like Apple's (UID =
// bundle id, OU = team id) and encodes it the way Keychain exports: RC2 for
// the certificate, 3DES for the key, SHA-1 MAC. Only the leaf goes in, as
// older decoders expect exactly one certificate and one key.
func makeAPNsP12(ca *authority, teamID, bundleID, password string, now time.Time) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate p12 key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			CommonName:         "Apple Push Services: " + bundleID,
			OrganizationalUnit: []string{teamID},
			Organization:       []string{"Herald test"},
			Country:            []string{"US"},
			ExtraNames:         []pkix.AttributeTypeAndValue{{Type: oidUID, Value: bundleID}},
		},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("create p12 certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse p12 certificate: %w", err)
	}
	p12, err := pkcs12.LegacyRC2.Encode(key, cert, nil, password)
	if err != nil {
		return nil, fmt.Errorf("encode p12: %w", err)
	}
	return p12, nil
}

// certUID returns the subject UID of a certificate, "" if it has none.
func certUID(cert *x509.Certificate) string {
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidUID) {
			if s, ok := atv.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// randomID returns n characters of [A-Z0-9], the shape of Apple team and
// key ids.
func randomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := randomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("vendorsim: read random bytes: %v", err))
	}
	return b
}
