package vendorsim

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The credentials file is one YAML document: a section per vendor under
// the vendor's name (each decoded by that vendor's LoadCreds) and an
// optional `faults:` section. GenCreds writes one; operators may write
// their own with real public keys. Keys of vendors not compiled in are
// ignored.
const faultsKey = "faults"

type apnsCredsFile struct {
	Teams []apnsTeamFile `yaml:"teams"`

	// ClientCAPEM holds one or more PEM certificates; a p12 client
	// certificate must chain to one of them.
	ClientCAPEM string `yaml:"client_ca_pem,omitempty"`
}

type apnsTeamFile struct {
	TeamID string `yaml:"team_id"`

	// Keys maps a key id to the PEM public key of its .p8 private key.
	Keys      map[string]string `yaml:"keys"`
	BundleIDs []string          `yaml:"bundle_ids"`
}

// apnsTeam is a validated team: its signing keys and allowed bundle ids.
type apnsTeam struct {
	id      string
	keys    map[string]*ecdsa.PublicKey
	bundles map[string]bool
}

// apnsCreds is the APNs part of a loaded credentials file.
type apnsCreds struct {
	teams     map[string]*apnsTeam // by team id
	keyTeam   map[string]*apnsTeam // by key id
	clientCAs *x509.CertPool
	hasCAs    bool
}

// loadCreds reads the credentials file and has every registered vendor
// load its section; it returns each vendor's credentials by name and the
// initial faults, if any.
func loadCreds(path string) (map[string]any, *FaultSet, error) {
	if path == "" {
		return nil, nil, errors.New("config: CredsFile is required")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read creds file: %w", err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("parse creds file %s: %w", path, err)
	}

	var faults *FaultSet
	if node, ok := doc[faultsKey]; ok {
		faults = &FaultSet{}
		if err := node.Decode(faults); err != nil {
			return nil, nil, fmt.Errorf("creds file %s: faults: %w", path, err)
		}
		if err := faults.Validate(); err != nil {
			return nil, nil, fmt.Errorf("creds file %s: faults: %w", path, err)
		}
	}

	creds := map[string]any{}
	for _, spec := range registered() {
		var node *yaml.Node
		if n, ok := doc[spec.Name]; ok {
			node = &n
		}
		c, err := spec.LoadCreds(node)
		if err != nil {
			return nil, nil, fmt.Errorf("creds file %s: %w", path, err)
		}
		creds[spec.Name] = c
	}
	return creds, faults, nil
}

// loadAPNsCreds is the apns LoadCreds hook.
func loadAPNsCreds(node *yaml.Node) (any, error) {
	var f apnsCredsFile
	if node != nil {
		if err := node.Decode(&f); err != nil {
			return nil, fmt.Errorf("apns: %w", err)
		}
	}
	return f.validate()
}

// validate checks every team and builds the lookup maps; a key id may
// belong to one team only, as at Apple.
func (f apnsCredsFile) validate() (*apnsCreds, error) {
	c := &apnsCreds{
		teams:     map[string]*apnsTeam{},
		keyTeam:   map[string]*apnsTeam{},
		clientCAs: x509.NewCertPool(),
	}
	for i, tf := range f.Teams {
		if tf.TeamID == "" {
			return nil, fmt.Errorf("apns.teams[%d].team_id: empty", i)
		}
		if c.teams[tf.TeamID] != nil {
			return nil, fmt.Errorf("apns.teams[%d].team_id: %q listed twice", i, tf.TeamID)
		}
		team := &apnsTeam{id: tf.TeamID, keys: map[string]*ecdsa.PublicKey{}, bundles: map[string]bool{}}
		for kid, keyPEM := range tf.Keys {
			if c.keyTeam[kid] != nil {
				return nil, fmt.Errorf("apns.teams[%d].keys: key id %q used twice", i, kid)
			}
			pub, err := parseECPublicKey([]byte(keyPEM))
			if err != nil {
				return nil, fmt.Errorf("apns.teams[%d].keys[%s]: %w", i, kid, err)
			}
			team.keys[kid] = pub
			c.keyTeam[kid] = team
		}
		for _, b := range tf.BundleIDs {
			if b == "" || strings.HasSuffix(b, ".voip") {
				return nil, fmt.Errorf("apns.teams[%d].bundle_ids: bad bundle id %q", i, b)
			}
			team.bundles[b] = true
		}
		c.teams[team.id] = team
	}
	if f.ClientCAPEM != "" {
		if !c.clientCAs.AppendCertsFromPEM([]byte(f.ClientCAPEM)) {
			return nil, errors.New("apns.client_ca_pem: no certificate found")
		}
		c.hasCAs = true
	}
	return c, nil
}

// parseECPublicKey reads a PKIX P-256 public key from PEM.
func parseECPublicKey(data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("not an ECDSA public key")
	}
	return pub, nil
}
