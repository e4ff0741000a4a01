package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/herald-im/herald/chaos"
)

// notifierName is the APNs notifier heraldbench creates and binds to.
const notifierName = "apns"

// setUp creates the app, an app token, lifts the app's REST rate limits
// and creates an APNs notifier on vendorsim. It returns the app token.
func setUp(ctx context.Context, r *rest, o runOptions, logger *slog.Logger) (string, error) {
	apns, creds, err := readSim(o.simAddrs, o.notifiers)
	if err != nil {
		return "", err
	}
	org, app, _ := strings.Cut(o.app, "#")

	var created struct {
		Data struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"data"`
	}
	if err := r.call(ctx, "POST", "/management/orgs/"+org+"/apps", o.bootstrap,
		map[string]any{"name": app}, &created); err != nil {
		return "", fmt.Errorf("create app: %w", err)
	}

	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := r.call(ctx, "POST", "/"+org+"/"+app+"/token", "", map[string]any{
		"grant_type": "client_credentials", "client_id": created.Data.ClientID,
		"client_secret": created.Data.ClientSecret,
	}, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("app token: %w", err)
	}
	token := tok.AccessToken

	lifted := map[string]any{"rate_limits": map[string]any{
		"user": 1_000_000, "settings": 1_000_000}}
	if err := r.call(ctx, "PUT", "/"+org+"/"+app+"/push/config", token, lifted,
		nil); err != nil {
		return "", fmt.Errorf("lift rate limits: %w", err)
	}

	notifier := map[string]any{"name": notifierName, "provider": "apns",
		"environment": "development", "endpoint": apns, "credentials": creds}
	err = r.call(ctx, "POST", "/"+org+"/"+app+"/push/notifiers", token, notifier, nil)
	if errors.Is(err, errRefused) {
		// A first attempt may have landed unanswered: then it exists.
		err = r.call(ctx, "GET", "/"+org+"/"+app+"/push/notifiers/"+notifierName, token,
			nil, nil)
	}
	if err != nil {
		return "", fmt.Errorf("create notifier: %w", err)
	}
	logger.Info("app set up", "app", o.app, "notifier", notifierName)
	return token, nil
}

// readSim reads vendorsim's APNs URL and the APNs notifier credentials.
func readSim(addrsFile, notifiersFile string) (string, json.RawMessage, error) {
	var addrs map[string]string
	b, err := os.ReadFile(addrsFile)
	if err == nil {
		err = json.Unmarshal(b, &addrs)
	}
	if err != nil || addrs["apns"] == "" {
		return "", nil, fmt.Errorf("--sim-addrs: no apns URL in %s: %v", addrsFile, err)
	}
	var creds map[string]json.RawMessage
	b, err = os.ReadFile(notifiersFile)
	if err == nil {
		err = json.Unmarshal(b, &creds)
	}
	if err != nil || len(creds["apns"]) == 0 {
		return "", nil, fmt.Errorf("--notifiers: no apns credentials in %s: %v",
			notifiersFile, err)
	}
	return addrs["apns"], creds["apns"], nil
}

// bindStable gives every user its stable device "p", journaled as the
// first write of chaos.KeyStable.
func (l *loader) bindStable(ctx context.Context) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	next := make(chan int)
	for range l.o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := l.mutate(ctx, i, chaos.KeyStable, 1); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := range l.o.users {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if first != nil {
		return fmt.Errorf("bind stable devices: %w", first)
	}
	return nil
}
