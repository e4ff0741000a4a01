package vendorsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

const (
	// defaultWaitTimeout and maxWaitTimeout bound GET /_sim/wait.
	defaultWaitTimeout = 5 * time.Second
	maxWaitTimeout     = 5 * time.Minute

	// maxFaultsBody bounds a PUT /_sim/faults body.
	maxFaultsBody = 64 << 10
)

// controlHandler serves the inspection API of VENDORS.md §4 as JSON.
func (s *Sim) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/received", s.handleReceived)
	mux.HandleFunc("GET /_sim/wait", s.handleWait)
	mux.HandleFunc("GET /_sim/counters", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, s.Counters())
	})
	mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/endpoints", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, s.Endpoints())
	})
	mux.HandleFunc("GET /_sim/ca.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(s.CAPEM())
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT /_sim/faults", s.handlePutFaults)
	return mux
}

func (s *Sim) handleReceived(w http.ResponseWriter, r *http.Request) {
	f, err := filterFromQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	WriteJSON(w, http.StatusOK, s.Received(f))
}

// handleWait blocks until count records match, answering 200 with them,
// or 408 with what matched when the timeout passes first.
func (s *Sim) handleWait(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := filterFromQuery(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	count, err := strconv.Atoi(q.Get("count"))
	if err != nil || count < 1 {
		writeError(w, http.StatusBadRequest,
			fmt.Errorf("count: want an integer >= 1, got %q", q.Get("count")))
		return
	}
	timeout := defaultWaitTimeout
	if v := q.Get("timeout"); v != "" {
		timeout, err = time.ParseDuration(v)
		if err != nil || timeout <= 0 || timeout > maxWaitTimeout {
			writeError(w, http.StatusBadRequest,
				fmt.Errorf("timeout: want a duration in (0, %s], got %q", maxWaitTimeout, v))
			return
		}
	}

	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	recs, err := s.Wait(ctx, count, f)
	if err != nil {
		WriteJSON(w, http.StatusRequestTimeout, map[string]any{"error": err.Error(), "records": recs})
		return
	}
	WriteJSON(w, http.StatusOK, recs)
}

func (s *Sim) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFaultsBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return
	}
	if len(body) > maxFaultsBody {
		writeError(w, http.StatusRequestEntityTooLarge, errors.New("body: over 64 KiB"))
		return
	}
	var fs FaultSet
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fs); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode faults: %w", err))
		return
	}
	if err := s.SetFaults(fs); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	WriteJSON(w, http.StatusOK, s.Faults())
}

// filterFromQuery reads vendor, token, outcome and since.
func filterFromQuery(q url.Values) (Filter, error) {
	f := Filter{Vendor: q.Get("vendor"), Token: q.Get("token"), Outcome: q.Get("outcome")}
	if v := q.Get("since"); v != "" {
		since, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Filter{}, fmt.Errorf("since: want a sequence number, got %q", v)
		}
		f.Since = since
	}
	return f, nil
}
