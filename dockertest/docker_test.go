package dockertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-im/herald/vendorsim"
)

// The suite's shared state, set once by TestMain.
var (
	// skipReason is non-empty when no Docker engine is usable; every test
	// then skips with it.
	skipReason string
	// image is the tag of the FROM scratch image the tests run.
	image string
	// creds are vendorsim's generated credentials (APNs key, team, topic).
	creds *vendorsim.Creds
)

// In-image paths of the files TestMain bakes in.
const (
	imageCredsFile = "/etc/herald-test/vendorsim.yaml"
	imageCADir     = "/etc/herald-test/ca"
	imageCAFile    = "/etc/herald-test/ca/ca.pem"
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

// runSuite builds the image (unless Docker is missing), runs the tests
// and removes the image again.
func runSuite(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		skipReason = "dockertest: skipped in -short mode (builds an image, runs containers)"
		return m.Run()
	}
	if reason := dockerMissing(); reason != "" {
		skipReason = reason
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "herald-dockertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockertest: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	image = "herald-test:" + randomID()
	start := time.Now()
	if err := buildImage(dir, image); err != nil {
		fmt.Fprintln(os.Stderr, "dockertest:", err)
		removeImage(image)
		return 1
	}
	fmt.Fprintf(os.Stderr, "dockertest: built %s in %v\n", image,
		time.Since(start).Round(time.Millisecond))
	defer removeImage(image)
	return m.Run()
}

// skipWithoutDocker skips t when TestMain found no usable engine.
func skipWithoutDocker(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// dockerMissing returns why the Docker tests cannot run, or "".
func dockerMissing() string {
	if _, err := exec.LookPath("docker"); err != nil {
		return "dockertest: no docker CLI in PATH"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := docker(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
		return "dockertest: docker info failed: " + firstLine(err.Error())
	}
	return ""
}

// buildImage compiles static binaries, prepares vendorsim's credentials
// and CA, and builds a FROM scratch image of them under tag.
func buildImage(dir, tag string) error {
	for _, name := range []string{"herald", "vendorsim"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o",
			filepath.Join(dir, name), "../cmd/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", name, err, out)
		}
	}

	// Credentials and the CA are made here, once: herald containers trust
	// the CA file, vendorsim containers serve leaves signed by its key.
	etc := filepath.Join(dir, "etc")
	var err error
	if creds, err = vendorsim.GenCreds(etc); err != nil {
		return fmt.Errorf("generate vendorsim credentials: %w", err)
	}
	if err := makeCA(creds.ConfigFile, filepath.Join(etc, "ca")); err != nil {
		return err
	}
	dockerfile := "FROM scratch\nCOPY herald vendorsim /\nCOPY etc /etc/herald-test\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile),
		0o644); err != nil {
		return fmt.Errorf("write Dockerfile: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := docker(ctx, "build", "-q", "--label", "herald-test=1", "-t", tag,
		dir); err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	return nil
}

// makeCA starts vendorsim in-process once with a CA directory, which
// creates and keeps the CA there, and stops it.
func makeCA(credsFile, caDir string) error {
	sim, err := vendorsim.Start(vendorsim.Config{CredsFile: credsFile, CADir: caDir})
	if err != nil {
		return fmt.Errorf("create vendorsim CA: %w", err)
	}
	_ = sim.Close()
	if _, err := os.Stat(filepath.Join(caDir, "ca.pem")); err != nil {
		return fmt.Errorf("vendorsim CA: %w", err)
	}
	return nil
}

func removeImage(tag string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := docker(ctx, "rmi", "-f", tag); err != nil {
		fmt.Fprintln(os.Stderr, "dockertest: remove image:", err)
	}
}

// docker runs the docker CLI and returns its trimmed standard output; a
// failure carries the command and its standard error.
func docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// dockerCombined runs docker and returns its output and errors together
// (docker logs replays a container's stderr on its own stderr).
func dockerCombined(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// dockerT runs docker for a test with a bounded wait, failing it on error.
func dockerT(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := docker(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// errOverlap marks a network whose subnet another network already uses.
var errOverlap = errors.New("subnet in use")

// createNetwork makes an internal network (no route out) with subnet.
func createNetwork(name, subnet, label string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := docker(ctx, "network", "create", "--internal", "--subnet", subnet,
		"--label", label, name)
	if err != nil && strings.Contains(err.Error(), "overlap") {
		return fmt.Errorf("%w: %w", errOverlap, err)
	}
	return err
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
