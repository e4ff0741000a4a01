// Package simtest starts vendorsim inside a test, the way every vendor
// client's tests need it: fresh credentials, an optional change to one
// vendor's section of vendorsim.yaml, and the emulator's CA trusted through
// SSL_CERT_FILE (so clients built on vendors.TrustPool verify it). It is for
// tests only; the emulator stops when the test ends.
package simtest

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/herald-im/herald/vendorsim"
)

// Start runs vendorsim for t. When edit is not nil it changes vendor's
// section of the credentials file first (quotas, token lifetimes). The
// returned Creds hold every vendor's notifier credentials.
func Start(t testing.TB, vendor string, edit func(section map[string]any)) (
	*vendorsim.Sim, *vendorsim.Creds) {

	t.Helper()
	creds, err := vendorsim.GenCreds(t.TempDir())
	if err != nil {
		t.Fatalf("generate vendorsim credentials: %v", err)
	}
	if edit != nil {
		editSection(t, creds.ConfigFile, vendor, edit)
	}
	sim, err := vendorsim.Start(vendorsim.Config{CredsFile: creds.ConfigFile})
	if err != nil {
		t.Fatalf("start vendorsim: %v", err)
	}
	t.Cleanup(func() { sim.Close() })

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, sim.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile)
	return sim, creds
}

// editSection rewrites vendor's section of the credentials file.
func editSection(t testing.TB, file, vendor string, edit func(section map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	section, ok := doc[vendor].(map[string]any)
	if !ok {
		t.Fatalf("vendorsim credentials have no %q section", vendor)
	}
	edit(section)
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
