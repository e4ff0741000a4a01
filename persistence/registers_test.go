package persistence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func activate(t *testing.T, r Registers, key string) (Lease, []byte) {
	t.Helper()
	lease, value, err := r.Activate(context.Background(), key)
	if err != nil {
		t.Fatalf("Activate(%q): %v", key, err)
	}
	return lease, value
}

func write(t *testing.T, l Lease, value string) {
	t.Helper()
	if err := l.Write(context.Background(), []byte(value)); err != nil {
		t.Fatalf("Write(%q): %v", value, err)
	}
}

func TestRegistersActivateFencesOlder(t *testing.T) {
	fs := vfs.NewMem()
	s := openMem(t, fs)
	key := UserKey("org#app", "alice")

	// A first activation sees nothing, then writes twice.
	old, value := activate(t, NewLocalRegisters(s, "n1"), key)
	if value != nil {
		t.Fatalf("first Activate value = %q, want nil", value)
	}
	write(t, old, "v1")
	write(t, old, "v2")

	// A second activation, as after a membership change, adopts the value
	// and fences the first.
	newer, value := activate(t, NewLocalRegisters(s, "n2"), key)
	if string(value) != "v2" {
		t.Fatalf("second Activate value = %q, want %q", value, "v2")
	}
	err := old.Write(context.Background(), []byte("stale"))
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("stale Write error = %v, want ErrFenced", err)
	}
	write(t, newer, "v3")
	err = old.Write(context.Background(), []byte("stale again"))
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("second stale Write error = %v, want ErrFenced", err)
	}

	// The same node activating again also fences its earlier lease.
	newest, value := activate(t, NewLocalRegisters(s, "n2"), key)
	if string(value) != "v3" {
		t.Fatalf("third Activate value = %q, want %q", value, "v3")
	}
	if err := newer.Write(context.Background(), []byte("x")); !errors.Is(err, ErrFenced) {
		t.Fatalf("Write on second lease error = %v, want ErrFenced", err)
	}
	write(t, newest, "v4")

	// Reopen: the last acknowledged value is what an activation finds.
	closeStore(t, s)
	s = openMem(t, fs)
	defer closeStore(t, s)
	_, value = activate(t, NewLocalRegisters(s, "n1"), key)
	if string(value) != "v4" {
		t.Fatalf("Activate after reopen value = %q, want %q", value, "v4")
	}
}

func TestRegistersEmptyValueIsNotAbsent(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)
	r := NewLocalRegisters(s, "n1")

	lease, _ := activate(t, r, AppKey("org#app"))
	write(t, lease, "")
	_, value := activate(t, r, AppKey("org#app"))
	if value == nil || len(value) != 0 {
		t.Fatalf("Activate after empty write = %q (nil %v), want empty non-nil",
			value, value == nil)
	}
}

// TestRegistersConcurrentActivations races many activations of one key.
// Whatever the interleaving, exactly the lease with the highest ballot may
// write afterwards, and every other is fenced.
func TestRegistersConcurrentActivations(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)
	key := UserKey("org#app", "bob")

	const n = 16
	leases := make([]Lease, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := NewLocalRegisters(s, fmt.Sprintf("n%02d", i))
			leases[i], _, errs[i] = r.Activate(context.Background(), key)
		})
	}
	wg.Wait()

	var best *localLease
	for i, err := range errs {
		if err != nil {
			if !errors.Is(err, ErrFenced) {
				t.Fatalf("Activate %d: %v", i, err)
			}
			continue
		}
		l := leases[i].(*localLease)
		if best == nil || best.ballot.Less(l.ballot) {
			best = l
		}
	}
	if best == nil {
		t.Fatal("every activation failed")
	}
	for i, lease := range leases {
		if lease == nil || lease == Lease(best) {
			continue
		}
		if err := lease.Write(context.Background(), []byte("x")); !errors.Is(err, ErrFenced) {
			t.Fatalf("Write on lease %d (ballot %v, best %v) error = %v, want ErrFenced",
				i, lease.(*localLease).ballot, best.ballot, err)
		}
	}
	write(t, best, "winner")
}

func TestRegistersRejectBadInput(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)
	ctx := context.Background()

	if _, _, err := NewLocalRegisters(s, "").Activate(ctx, "k"); err == nil {
		t.Fatal("Activate with empty node name succeeded")
	}
	if _, _, err := NewLocalRegisters(s, "n1").Activate(ctx, ""); err == nil {
		t.Fatal("Activate with empty key succeeded")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err := NewLocalRegisters(s, "n1").Activate(canceled, "k")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Activate with canceled ctx error = %v, want context.Canceled", err)
	}
	lease, _ := activate(t, NewLocalRegisters(s, "n1"), "k")
	if err := lease.Write(canceled, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with canceled ctx error = %v, want context.Canceled", err)
	}
	if err := lease.Write(ctx, make([]byte, maxValueLen+1)); err == nil {
		t.Fatal("Write of an oversized value succeeded")
	}

	// The refused calls left no value behind.
	_, value := activate(t, NewLocalRegisters(s, "n1"), "k")
	if value != nil {
		t.Fatalf("value after refused writes = %q, want nil", value)
	}
}
