package messages

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates the .pb.go of every .proto file
// of the package into a scratch directory and compares it with the
// committed file, so a .proto edit can never land without its generated
// code.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protos, err := filepath.Glob("*.proto")
	if err != nil || len(protos) == 0 {
		t.Fatalf("no .proto files found: %v", err)
	}
	for _, proto := range protos {
		t.Run(proto, func(t *testing.T) { checkGenerated(t, proto) })
	}
}

func checkGenerated(t *testing.T, proto string) {
	generated := strings.TrimSuffix(proto, ".proto") + ".pb.go"
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skipf("protoc is not installed; cannot check %s against %s", generated, proto)
	}
	if _, err := exec.LookPath("protoc-gen-go"); err != nil {
		t.Skipf("protoc-gen-go is not installed; cannot check %s against %s",
			generated, proto)
	}

	out := t.TempDir()
	cmd := exec.Command("protoc", "--go_out="+out, "--go_opt=paths=source_relative", proto)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}

	want, err := os.ReadFile(filepath.Join(out, generated))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run `go generate ./messages` and commit the result", generated)
	}
}
