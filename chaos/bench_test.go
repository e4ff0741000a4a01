package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
	"github.com/herald-im/herald/ring"
)

// load says how heraldbench runs.
type load struct {
	users    int
	duration time.Duration
	rate     float64 // mutations/s
	pushRate float64 // pushes/s, 0 = unlimited
	workers  int
	pushers  int
}

// bench is a running heraldbench.
type bench struct {
	*proc
	journal, report string
	within          time.Duration // bound on the whole run
}

// runSummary mirrors heraldbench's run report.
type runSummary struct {
	MutationsTried int64   `json:"mutations_tried"`
	MutationsAcked int64   `json:"mutations_acked"`
	MutationsLeft  int64   `json:"mutations_unanswered"`
	PushesAcked    int64   `json:"pushes_acked"`
	Pushed         int64   `json:"pushed"`
	Failed         int64   `json:"failed"`
	Duplicate      int64   `json:"duplicate"`
	PushesLeft     int64   `json:"pushes_unanswered"`
	PushesPerSec   float64 `json:"pushes_per_sec"`
	Seconds        float64 `json:"seconds"`
}

// verdictReport mirrors heraldbench's verify report.
type verdictReport struct {
	KeysAcked   int      `json:"keys_acked"`
	KeysLost    int      `json:"keys_lost"`
	Unreadable  int      `json:"users_unreadable"`
	Pushed      int      `json:"pushed"`
	PushesLost  int      `json:"pushes_lost"`
	Duplicates  int      `json:"duplicates"`
	ExtraCopies int      `json:"extra_copies"`
	Problems    []string `json:"problems"`

	DupAnswers   int `json:"duplicate_answers"`
	DupDelivered int `json:"duplicate_answers_delivered"`
}

// startBench runs heraldbench with --setup against nodes.
func startBench(t *testing.T, c *cluster, nodes []*hnode, l load) *bench {
	t.Helper()
	dir := t.TempDir()
	b := &bench{journal: filepath.Join(dir, "journal.jsonl"),
		report: filepath.Join(dir, "run.json"), within: l.duration + 4*time.Minute}
	b.proc = start(t, "heraldbench", "heraldbench", nil, "run",
		"--herald", bases(nodes), "--seeds", gossips(nodes), "--app", appKey,
		"--users", fmt.Sprint(l.users), "--duration", l.duration.String(),
		"--rate", fmt.Sprint(l.rate), "--push-rate", fmt.Sprint(l.pushRate),
		"--workers", fmt.Sprint(l.workers), "--pushers", fmt.Sprint(l.pushers),
		"--attempt", "8s", "--grace", "60s", "--journal", b.journal, "--report", b.report,
		"--setup", "--bootstrap-token", bootstrapToken, "--sim-addrs", c.sim.addrFile,
		"--notifiers", c.sim.notifiers)
	return b
}

// finish waits for heraldbench to end and returns its summary.
func (b *bench) finish(t *testing.T) runSummary {
	t.Helper()
	if !b.wait(b.within) {
		t.Fatalf("heraldbench still running after %v", b.within)
	}
	t.Logf("heraldbench run:\n%s", tail(b.output(), 6))
	if code := b.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("heraldbench run exited %d:\n%s", code, tail(b.output(), 40))
	}
	var s runSummary
	readJSON(t, b.report, &s)
	return s
}

// verify runs heraldbench verify against nodes and vendorsim.
func (b *bench) verify(t *testing.T, c *cluster, nodes []*hnode) verdictReport {
	t.Helper()
	report := filepath.Join(filepath.Dir(b.journal), "verify.json")
	p := start(t, "heraldbench verify", "heraldbench", nil, "verify",
		"--herald", bases(nodes), "--sim", c.sim.control, "--journal", b.journal,
		"--report", report, "--timeout", "2m")
	if !p.wait(3 * time.Minute) {
		t.Fatal("heraldbench verify still running after 3m")
	}
	t.Logf("heraldbench verify:\n%s", tail(p.output(), 25))
	var v verdictReport
	readJSON(t, report, &v)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("heraldbench verify exited %d: %d keys lost, %d users unreadable, "+
			"%d pushes lost", code, v.KeysLost, v.Unreadable, v.PushesLost)
	}
	return v
}

func readJSON(t *testing.T, path string, out any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// diskReport counts what the stopped nodes' stores hold.
type diskReport struct {
	keys     int // acknowledged user records checked
	short    int // records held by fewer than a majority of replicas
	problems []string
	held     map[string]int // node name → records holding every acked write
	present  map[string]int // node name → records it holds at all
	replica  map[string]int // node name → records it should hold
}

// checkDisk opens every ring node's store (the nodes must be stopped)
// and checks that each user with an acknowledged write has it, or a
// newer write, on a majority of its replicas under ringNodes.
func checkDisk(t *testing.T, j *Journal, ringNodes []*hnode) diskReport {
	t.Helper()
	stores := map[string]*persistence.Store{}
	var view []ring.Node
	for _, n := range ringNodes {
		s, err := persistence.Open(filepath.Join(n.dataDir, "pebble"), persistence.Options{})
		if err != nil {
			t.Fatalf("open %s's store: %v", n.name, err)
		}
		defer s.Close()
		stores[n.name] = s
		view = append(view, ring.Node{Name: n.name, Address: n.remote})
	}

	rep := diskReport{held: map[string]int{}, present: map[string]int{},
		replica: map[string]int{}}
	for i := range j.Run.Users {
		user := UserName(i)
		if len(j.Keys[user]) == 0 {
			continue
		}
		rep.keys++
		key := persistence.UserKey(j.Run.App, user)
		replicas := ring.Rendezvous(view, key, ring.ReplicationFactor)
		good := 0
		var why []string
		for _, r := range replicas {
			rep.replica[r.Name]++
			problems := replicaProblems(t, stores[r.Name], key, i, j)
			if len(problems) != 1 || problems[0] != "no record" {
				rep.present[r.Name]++
			}
			if problems == nil {
				good++
				rep.held[r.Name]++
			} else {
				why = append(why, r.Name+": "+fmt.Sprint(problems))
			}
		}
		if good < len(replicas)/2+1 {
			rep.short++
			if len(rep.problems) < 10 {
				rep.problems = append(rep.problems, fmt.Sprintf("%s on %d of %d replicas: %v",
					user, good, len(replicas), why))
			}
		}
	}
	return rep
}

// replicaProblems says what one replica lacks of user i's acknowledged
// writes; nil when it holds them all (or newer ones).
func replicaProblems(t *testing.T, s *persistence.Store, key string, i int,
	j *Journal) []string {
	t.Helper()
	_, value, err := s.Get(key)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if value == nil {
		return []string{"no record"}
	}
	var rec messages.UserRecord
	if err := proto.Unmarshal(value, &rec); err != nil {
		return []string{"undecodable record: " + err.Error()}
	}
	return j.Check(i, ViewOfRecord(&rec))
}
