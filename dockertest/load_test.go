package dockertest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load writes bindings and pushes messages through the nodes, recording
// only what Herald acknowledged. It is never itself a fault target.
type load struct {
	api   *apiClient
	nodes []*member
	// avoid is the node a fault is being injected into; requests go to
	// the others meanwhile, as a load balancer's health check would.
	avoid atomic.Pointer[member]
	next  atomic.Int64

	mu       sync.Mutex
	acked    map[string]map[string]string // user -> device -> token
	pushable []string                     // users with an acknowledged binding
	pushed   map[string]string            // acknowledged msg id -> user
	refused  map[string]int               // "bind 503", "push err", ...

	logf func(format string, args ...any) // the test's log
}

func newLoad(t *testing.T, api *apiClient, nodes []*member) *load {
	return &load{api: api, nodes: nodes, acked: map[string]map[string]string{},
		pushed: map[string]string{}, refused: map[string]int{}, logf: t.Logf}
}

// run starts writers and pushers until ctx ends or maxUsers users were
// tried, and returns when all of them stopped.
func (l *load) run(ctx context.Context, writers, pushers, maxUsers int) {
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() { l.write(ctx, maxUsers) })
	}
	for range pushers {
		wg.Go(func() { l.pushLoop(ctx) })
	}
	wg.Wait()
}

// pick returns the node for request n, skipping the avoided one.
func (l *load) pick(n int64) *member {
	m := l.nodes[int(n)%len(l.nodes)]
	if m == l.avoid.Load() {
		m = l.nodes[int(n+1)%len(l.nodes)]
	}
	return m
}

// write binds device d1 of a new user per turn and, every third turn, a
// second device of a user this writer already bound: a second write to
// the same register under the same or a later activation.
func (l *load) write(ctx context.Context, maxUsers int) {
	var mine []string
	for turn := 0; ctx.Err() == nil; turn++ {
		n := l.next.Add(1)
		if n > int64(maxUsers) {
			return
		}
		user := fmt.Sprintf("chaos-%d", n)
		b := binding{user: user, device: "d1", token: deviceToken(user + "/d1")}
		if turn%3 == 2 && len(mine) > 0 {
			user = mine[rand.IntN(len(mine))]
			b = binding{user: user, device: "d2", token: deviceToken(user + "/d2")}
		}
		code, err := l.api.bind(l.pick(n), b)
		if err != nil || code != http.StatusOK {
			l.refuse("bind", code, err)
			continue
		}
		l.ack(b)
		if b.device == "d1" {
			mine = append(mine, user)
		}
	}
}

func (l *load) ack(b binding) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acked[b.user] == nil {
		l.acked[b.user] = map[string]string{}
		l.pushable = append(l.pushable, b.user)
	}
	l.acked[b.user][b.device] = b.token
}

func (l *load) refuse(op string, code int, err error) {
	key := fmt.Sprintf("%s %d", op, code)
	if err != nil {
		key = op + " no answer"
	}
	l.mu.Lock()
	l.refused[key]++
	l.mu.Unlock()
}

// pushLoop pushes one message at a time to a user with an acknowledged
// binding; a push is acknowledged when Herald reports it pushed.
func (l *load) pushLoop(ctx context.Context) {
	for ctx.Err() == nil {
		l.mu.Lock()
		var user string
		if len(l.pushable) > 0 {
			user = l.pushable[rand.IntN(len(l.pushable))]
		}
		l.mu.Unlock()
		if user == "" {
			// Nothing bound yet: the writers have just started.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		n := l.next.Add(1)
		msgID := fmt.Sprintf("msg-%d", n)
		pushed, code, err := l.api.push(l.pick(n), msgID, user)
		if err != nil || code != http.StatusOK || pushed < 1 {
			l.refuse("push", code, err)
			continue
		}
		l.mu.Lock()
		l.pushed[msgID] = user
		l.mu.Unlock()
	}
}

// summary is one line of counts for the test log.
func (l *load) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	writes := 0
	for _, devs := range l.acked {
		writes += len(devs)
	}
	var refused []string
	for _, k := range slices.Sorted(maps.Keys(l.refused)) {
		refused = append(refused, fmt.Sprintf("%s: %d", k, l.refused[k]))
	}
	return fmt.Sprintf("acknowledged %d bindings of %d users, %d pushes; not acknowledged: %s",
		writes, len(l.acked), len(l.pushed), strings.Join(refused, ", "))
}

// checkBindings reads every acknowledged user back through the nodes in
// turn and fails t for each acknowledged binding that is missing or
// changed. Reads that get no 200 are retried until within passes.
func (l *load) checkBindings(t *testing.T, within time.Duration) {
	t.Helper()
	l.mu.Lock()
	users := slices.Sorted(maps.Keys(l.acked))
	l.mu.Unlock()
	deadline := time.Now().Add(within)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if p := l.checkUser(users[i], l.nodes[i%len(l.nodes)], deadline); p != "" {
					mu.Lock()
					problems = append(problems, p)
					mu.Unlock()
				}
			}
		})
	}
	for i := range users {
		work <- i
	}
	close(work)
	wg.Wait()

	sort.Strings(problems)
	for i, p := range problems {
		if i == 20 {
			t.Errorf("... and %d more", len(problems)-20)
			break
		}
		t.Error(p)
	}
}

// checkUser compares one user's bindings read through m with what was
// acknowledged; "" when every acknowledged binding is there.
func (l *load) checkUser(user string, m *member, deadline time.Time) string {
	l.mu.Lock()
	want := maps.Clone(l.acked[user])
	l.mu.Unlock()
	for tries := 0; ; tries++ {
		got, code, err := l.api.bindings(m, user)
		if tries == 0 && (err != nil || code != http.StatusOK) {
			l.logf("read %s through %s: status %d, %v; retrying", user, m.name, code, err)
		}
		if err == nil && code == http.StatusOK {
			for dev, tok := range want {
				if got[dev] != tok {
					return fmt.Sprintf("%s through %s: device %s has token %q, "+
						"acknowledged %q", user, m.name, dev, got[dev], tok)
				}
			}
			return ""
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("%s through %s: no answer before the deadline "+
				"(status %d, %v); other nodes: %s", user, m.name, code, err,
				l.readElsewhere(user, m))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readElsewhere reads user once through every node but m and says what
// each answered, to tell a stuck node from a stuck register.
func (l *load) readElsewhere(user string, m *member) string {
	var out []string
	for _, o := range l.nodes {
		if o == m {
			continue
		}
		got, code, err := l.api.bindings(o, user)
		out = append(out, fmt.Sprintf("%s: status %d %v %v", o.name, code, got, err))
	}
	return strings.Join(out, "; ")
}

// checkPushes fails t for every acknowledged push vendorsim never
// received, and returns how many duplicate deliveries it saw.
func (l *load) checkPushes(t *testing.T) (duplicates int) {
	t.Helper()
	recs, err := l.api.received()
	if err != nil {
		t.Fatal(err)
	}
	delivered := map[string]int{} // msg id + token -> 200 answers
	for _, r := range recs {
		id, _ := r.Payload["m"].(string)
		if r.Status == http.StatusOK && id != "" {
			delivered[id+" "+r.Token]++
		}
	}
	reached := map[string]bool{}
	for key, n := range delivered {
		id, _, _ := strings.Cut(key, " ")
		reached[id] = true
		duplicates += n - 1
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	var missing []string
	for id, user := range l.pushed {
		if !reached[id] {
			missing = append(missing, id+" to "+user)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d acknowledged pushes never reached vendorsim, e.g. %v", len(missing),
			missing[:min(10, len(missing))])
	}
	return duplicates
}
