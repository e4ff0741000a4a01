package messages

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRingGeneratedCodeIsCurrent checks ring.pb.go against ring.proto the
// way TestGeneratedCodeIsCurrent checks herald.pb.go.
func TestRingGeneratedCodeIsCurrent(t *testing.T) {
	for _, tool := range []string{"protoc", "protoc-gen-go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; cannot check ring.pb.go against ring.proto", tool)
		}
	}

	out := t.TempDir()
	cmd := exec.Command("protoc", "--go_out="+out, "--go_opt=paths=source_relative", "ring.proto")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}

	want, err := os.ReadFile(filepath.Join(out, "ring.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("ring.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("ring.pb.go is stale: run `go generate ./messages` and commit the result")
	}
}
