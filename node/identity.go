package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files the node keeps beside its Pebble store.
const (
	nodeNameFile  = "node-name"
	bootstrapFile = "bootstrap-token"
)

// nodeName returns the configured name, else the one kept in the data
// directory, else a new one that is kept there from now on. A stable name
// tied to the data directory lets a restarted node rejoin as itself.
func nodeName(dataDir, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	name, err := readOrCreate(filepath.Join(dataDir, nodeNameFile), func() string {
		return "herald-" + randomHex(4)
	})
	if err != nil {
		return "", fmt.Errorf("node name: %w", err)
	}
	return name, nil
}

// bootstrapToken returns the configured admin token, else the one kept in
// the data directory. A token generated now is printed once to out, so the
// operator can create the first app; it is never logged.
func bootstrapToken(dataDir, configured string, out io.Writer) (string, error) {
	if configured != "" {
		return configured, nil
	}
	path := filepath.Join(dataDir, bootstrapFile)
	created := false
	tok, err := readOrCreate(path, func() string {
		created = true
		return randomHex(24)
	})
	if err != nil {
		return "", fmt.Errorf("bootstrap token: %w", err)
	}
	if created && out != nil {
		fmt.Fprintf(out, "herald: generated bootstrap admin token (kept in %s): %s\n", path, tok)
	}
	return tok, nil
}

// readOrCreate returns the trimmed content of path, or writes make()'s
// value there (synced, owner-only) and returns it.
func readOrCreate(path string, make func() string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}

	v := make()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(v + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return v, f.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
