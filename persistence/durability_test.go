package persistence

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childDirEnv selects the child mode of the test binary: when set, TestMain
// runs writeUntilKilled on that directory instead of the tests.
const childDirEnv = "HERALD_PERSISTENCE_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		if err := writeUntilKilled(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Shape of the child's workload: each writer owns keysPerWriter keys and
// writes them in turn with increasing versions, so a key is overwritten
// many times under one lease.
const (
	childWriters       = 8
	childKeysPerWriter = 4
	childMaxWrites     = 200000 // per writer; bounds a child whose parent died
)

// writeUntilKilled is the child: it writes through Registers and Lease from
// several goroutines and prints "ack <key> <version>" to stdout as soon as
// each Write returns.
func writeUntilKilled(dir string) error {
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	regs := NewLocalRegisters(s, "child")
	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex // guards out: acks from all writers share stdout
	ack := func(key string, version int) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, "ack %s %d\n", key, version)
		out.Flush()
	}

	errs := make(chan error, childWriters)
	for w := range childWriters {
		go func() { errs <- childWriter(regs, w, ack) }()
	}
	return <-errs
}

func childWriter(regs Registers, w int, ack func(string, int)) error {
	ctx := context.Background()
	leases := make([]Lease, childKeysPerWriter)
	keys := make([]string, childKeysPerWriter)
	for k := range keys {
		keys[k] = UserKey("org#app", fmt.Sprintf("w%d-k%d", w, k))
		lease, _, err := regs.Activate(ctx, keys[k])
		if err != nil {
			return err
		}
		leases[k] = lease
	}
	for version := 1; version <= childMaxWrites; version++ {
		k := version % childKeysPerWriter
		if err := leases[k].Write(ctx, []byte(strconv.Itoa(version))); err != nil {
			return err
		}
		ack(keys[k], version)
	}
	return nil
}

// TestDurabilityAckedWritesSurviveSIGKILL kills a writing process at an
// arbitrary moment and checks that every acknowledged write is on disk:
// for each key, the stored version is at least the last acknowledged one
// (a later write may have become durable without its ack being read).
func TestDurabilityAckedWritesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process; skipped in -short mode")
	}
	dir := t.TempDir()
	const wantAcks = 3000

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	cmd.Stderr = testWriter{t}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StdoutPipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	// Read acks until enough arrived. A watchdog kills the child if it
	// stalls, which ends the read with fewer acks and fails the test.
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	acked := make(map[string]int)
	acks := 0
	scanner := bufio.NewScanner(stdout)
	for acks < wantAcks && scanner.Scan() {
		key, version, err := parseAck(scanner.Text())
		if err != nil {
			t.Fatalf("child output: %v", err)
		}
		if version <= acked[key] {
			t.Fatalf("child acked %s version %d after %d", key, version, acked[key])
		}
		acked[key] = version
		acks++
	}
	watchdog.Stop()
	if acks < wantAcks {
		t.Fatalf("child stopped after %d acks, want %d (scan error %v)",
			acks, wantAcks, scanner.Err())
	}

	// SIGKILL: no deferred code, no Close, no final sync in the child.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	killed = true
	_ = cmd.Wait()

	s, err := Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer closeStore(t, s)
	stored := make(map[string]int)
	err = s.Scan(UserKey("org#app", ""), func(key string, value []byte) error {
		v, err := strconv.Atoi(string(value))
		stored[key] = v
		return err
	})
	if err != nil {
		t.Fatalf("Scan after reopen: %v", err)
	}
	for key, version := range acked {
		if stored[key] < version {
			t.Errorf("key %s: stored version %d, acknowledged %d", key, stored[key], version)
		}
	}
	t.Logf("%d acks over %d keys survived SIGKILL", acks, len(acked))
}

func parseAck(line string) (key string, version int, err error) {
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != "ack" {
		return "", 0, fmt.Errorf("malformed line %q", line)
	}
	version, err = strconv.Atoi(fields[2])
	if err != nil {
		return "", 0, fmt.Errorf("malformed line %q: %w", line, err)
	}
	return fields[1], version, nil
}
