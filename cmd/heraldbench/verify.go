package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herald-im/herald/chaos"
)

// verdict is what verify prints and writes to --report.
type verdict struct {
	Users       int `json:"users"`
	KeysAcked   int `json:"keys_acked"`
	KeysLost    int `json:"keys_lost"`
	Unreadable  int `json:"users_unreadable"`
	Pushed      int `json:"pushed"`
	PushesLost  int `json:"pushes_lost"`
	Duplicates  int `json:"duplicates"` // (msg, token) pairs received more than once
	ExtraCopies int `json:"extra_copies"`
	// Resubmissions answered "duplicate": the first attempt was processed
	// unanswered, so its outcome is unknown; how many reached vendorsim.
	DupAnswers   int      `json:"duplicate_answers"`
	DupDelivered int      `json:"duplicate_answers_delivered"`
	Problems     []string `json:"problems,omitempty"` // the first few
}

const maxProblems = 20

func (v *verdict) problem(p string) {
	if len(v.Problems) < maxProblems {
		v.Problems = append(v.Problems, p)
	}
}

// runVerify is heraldbench verify.
func runVerify(ctx context.Context, o verifyOptions, stdout io.Writer,
	logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	j, err := chaos.ReadFile(o.journal)
	if err != nil {
		return err
	}
	v := &verdict{Users: j.Run.Users, KeysAcked: j.Acked()}
	r := newREST(o.herald, 10*time.Second)
	if err := checkUsers(ctx, r, j, v); err != nil {
		return err
	}
	if o.sim != "" {
		if err := checkPushes(ctx, o.sim, j, v); err != nil {
			return err
		}
	}

	fmt.Fprintf(stdout, "heraldbench verify: %d users, %d acknowledged keys, %d lost, "+
		"%d users unreadable\n", v.Users, v.KeysAcked, v.KeysLost, v.Unreadable)
	fmt.Fprintf(stdout, "  pushes: %d acknowledged as pushed, %d lost, %d duplicated "+
		"(%d extra copies)\n", v.Pushed, v.PushesLost, v.Duplicates, v.ExtraCopies)
	fmt.Fprintf(stdout, "  resubmissions answered duplicate: %d, of which %d reached vendorsim\n",
		v.DupAnswers, v.DupDelivered)
	for _, p := range v.Problems {
		fmt.Fprintln(stdout, "  lost:", p)
	}
	if err := writeReport(o.report, v); err != nil {
		return err
	}
	if v.KeysLost > 0 || v.PushesLost > 0 || v.Unreadable > 0 {
		return errLoss
	}
	logger.Debug("verified", "journal", o.journal)
	return nil
}

// perUser bounds the reads of one user, so one unreadable user is
// reported as such instead of stalling the whole verification.
const perUser = 20 * time.Second

// checkUsers reads every journaled user's bindings and language through
// the cluster and compares them with the journal.
func checkUsers(ctx context.Context, r *rest, j *chaos.Journal, v *verdict) error {
	org, app, _ := strings.Cut(j.Run.App, "#")
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				uctx, cancel := context.WithTimeout(ctx, perUser)
				view, err := readUser(uctx, r, j.Run.Token, org, app, chaos.UserName(i))
				cancel()
				mu.Lock()
				if err != nil {
					v.Unreadable++
					v.problem(fmt.Sprintf("%s unreadable: %v", chaos.UserName(i), err))
				} else {
					for _, p := range j.Check(i, view) {
						v.KeysLost++
						v.problem(p)
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := range j.Run.Users {
		if len(j.Keys[chaos.UserName(i)]) > 0 {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read users: %w", err)
	}
	return nil
}

func readUser(ctx context.Context, r *rest, token, org, app, user string) (
	chaos.UserView, error) {
	base := "/" + org + "/" + app + "/users/" + user
	var bindings struct {
		Entities []struct {
			DeviceID    string `json:"device_id"`
			DeviceToken string `json:"device_token"`
		} `json:"entities"`
	}
	if err := r.call(ctx, "GET", base+"/push/binding", token, nil, &bindings); err != nil {
		return chaos.UserView{}, err
	}
	var lang struct {
		Data struct {
			Language string `json:"language"`
		} `json:"data"`
	}
	if err := r.call(ctx, "GET", base+"/notification/language", token, nil,
		&lang); err != nil {
		return chaos.UserView{}, err
	}
	view := chaos.UserView{Bindings: map[string]string{}, Language: lang.Data.Language}
	for _, b := range bindings.Entities {
		view.Bindings[b.DeviceID] = b.DeviceToken
	}
	return view, nil
}

// userIndex reads i back from chaos.UserName(i); -1 if it is not one.
func userIndex(user string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(user, "u"))
	if err != nil || chaos.UserName(i) != user {
		return -1
	}
	return i
}

// simRecord is the part of a vendorsim record verify reads.
type simRecord struct {
	Token   string            `json:"token"`
	Headers map[string]string `json:"headers"`
	Status  int               `json:"status"`
}

// checkPushes asks vendorsim for every APNs request and checks that each
// push acknowledged as pushed reached its stable token at least once.
func checkPushes(ctx context.Context, sim string, j *chaos.Journal, v *verdict) error {
	req, err := http.NewRequestWithContext(ctx, "GET",
		strings.TrimRight(sim, "/")+"/_sim/received?vendor=apns", nil)
	if err != nil {
		return fmt.Errorf("vendorsim request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("vendorsim received: %w", err)
	}
	defer resp.Body.Close()
	var recs []simRecord
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("vendorsim received: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		return fmt.Errorf("vendorsim received: decode: %w", err)
	}

	seen := map[[2]string]int{}
	for _, rec := range recs {
		if rec.Status != http.StatusOK {
			continue
		}
		seen[[2]string{rec.Headers["apns-collapse-id"], rec.Token}]++
	}
	for _, n := range seen {
		if n > 1 {
			v.Duplicates++
			v.ExtraCopies += n - 1
		}
	}
	for _, p := range j.Pushes {
		if p.Outcome == chaos.PushDuplicate {
			v.DupAnswers++
			if seen[[2]string{p.Msg, chaos.StableToken(userIndex(p.User))}] > 0 {
				v.DupDelivered++
			}
		}
		if p.Outcome != chaos.PushPushed {
			continue
		}
		v.Pushed++
		if seen[[2]string{p.Msg, p.Device}] == 0 {
			v.PushesLost++
			v.problem(fmt.Sprintf("push %s to %s (%s…) never reached vendorsim", p.Msg,
				p.User, p.Device[:6]))
		}
	}
	return nil
}
