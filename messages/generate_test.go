package messages

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates herald.pb.go into a scratch
// directory and compares it with the committed file, so a .proto edit can
// never land without its generated code.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc is not installed; cannot check herald.pb.go against herald.proto")
	}
	if _, err := exec.LookPath("protoc-gen-go"); err != nil {
		t.Skip("protoc-gen-go is not installed; cannot check herald.pb.go against herald.proto")
	}

	out := t.TempDir()
	cmd := exec.Command("protoc", "--go_out="+out, "--go_opt=paths=source_relative", "herald.proto")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}

	want, err := os.ReadFile(filepath.Join(out, "herald.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("herald.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("herald.pb.go is stale: run `go generate ./messages` and commit the result")
	}
}
