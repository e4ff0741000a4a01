package messages

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTokenGeneratedCodeIsCurrent checks token.pb.go against token.proto the
// way TestGeneratedCodeIsCurrent checks herald.pb.go.
func TestTokenGeneratedCodeIsCurrent(t *testing.T) {
	for _, tool := range []string{"protoc", "protoc-gen-go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; cannot check token.pb.go against token.proto", tool)
		}
	}

	out := t.TempDir()
	cmd := exec.Command("protoc", "--go_out="+out, "--go_opt=paths=source_relative", "token.proto")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}

	want, err := os.ReadFile(filepath.Join(out, "token.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("token.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("token.pb.go is stale: run `go generate ./messages` and commit the result")
	}
}
