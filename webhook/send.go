package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/herald-im/herald/vendors"
)

// work is one worker: it POSTs queued items until Close stops it.
func (d *Dispatcher) work() {
	defer d.workers.Done()
	for {
		select {
		case <-d.stop:
			return
		case it := <-d.queue:
			d.attempt(it)
		}
	}
}

// attempt sends it once and then finishes it, or schedules its retry.
func (d *Dispatcher) attempt(it *item) {
	if it.body == nil {
		if err := d.prepare(it); err != nil {
			d.drop(it, err.Error())
			return
		}
	}

	status, err := d.post(it)
	if err == nil && status >= 200 && status < 300 {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.stats.Delivered++
		d.releaseLocked()
		return
	}
	d.retryOrDrop(it, status, err)
}

// prepare checks the URL and builds the body once for every attempt.
func (d *Dispatcher) prepare(it *item) error {
	u, err := url.Parse(it.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook url is not an http(s) URL")
	}
	ts := it.ev.Time.UnixMilli()
	if it.ev.Time.IsZero() {
		ts = d.opts.Clock.Now().UnixMilli()
	}
	it.body, err = encodeEvent(it.ev, it.secret, ts)
	return err
}

// post makes one request and returns the answer's status.
func (d *Dispatcher) post(it *item) (int, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, it.url,
		bytes.NewReader(it.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "herald-webhook")
	req.Header.Set("X-Herald-Event-Id", it.id)
	if it.secret != "" {
		req.Header.Set("X-Herald-Signature", signature(it.body, it.secret))
	}

	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Read a little of the answer so the connection can be reused; its
	// content does not matter.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// retryOrDrop schedules the next attempt after the backoff, or drops the
// item when its retries are spent or the Dispatcher is stopping.
func (d *Dispatcher) retryOrDrop(it *item, status int, err error) {
	why := fmt.Sprintf("http %d", status)
	if err != nil {
		why = errorKind(err)
	}

	d.mu.Lock()
	if it.retries >= MaxRetries || d.stopping() {
		d.mu.Unlock()
		d.drop(it, why)
		return
	}
	delay := d.backoff(it.retries)
	it.retries++
	d.stats.Retried++
	d.waiting[it] = struct{}{}
	it.timer = d.opts.Clock.AfterFunc(delay, func() { d.requeue(it) })
	retry := it.retries
	d.mu.Unlock()

	d.log.Debug("webhook retry", "app", it.ev.AppKey, "msg_id", it.ev.MsgID,
		"event_id", it.id, "retry", retry, "delay", delay, "reason", why)
}

// backoff is the delay before retry n+1 (n retries made): BaseDelay·2ⁿ
// with ±20 % jitter.
func (d *Dispatcher) backoff(n int) time.Duration {
	base := d.opts.BaseDelay << n
	f := 1 + jitter*(2*d.opts.Rand()-1)
	return time.Duration(float64(base) * f)
}

// requeue runs when a retry timer fires.
func (d *Dispatcher) requeue(it *item) {
	d.mu.Lock()
	if _, ok := d.waiting[it]; !ok {
		d.mu.Unlock()
		return // given up by Close
	}
	delete(d.waiting, it)
	if !d.stopping() {
		d.queue <- it // never blocks: the item is still counted in held
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	d.drop(it, "closed")
}

// stopping reports whether Close has stopped the workers.
func (d *Dispatcher) stopping() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// drop gives an item up and logs it without secrets: the URL's host only
// (its path or query may hold a key) and a masked device token. The log
// is written after the lock is released.
func (d *Dispatcher) drop(it *item, why string) {
	d.mu.Lock()
	d.stats.Dropped++
	d.releaseLocked()
	d.mu.Unlock()

	host := ""
	if u, err := url.Parse(it.url); err == nil {
		host = u.Host
	}
	d.log.Warn("webhook event dropped", "app", it.ev.AppKey, "msg_id", it.ev.MsgID,
		"event_id", it.id, "host", host, "token", maskOrEmpty(it.ev.DeviceToken),
		"retries", it.retries, "reason", why)
}

// releaseLocked ends an item's hold on the queue.
func (d *Dispatcher) releaseLocked() {
	d.held--
	if d.held == 0 && d.closing {
		select {
		case <-d.drained:
		default:
			close(d.drained)
		}
	}
}

func maskOrEmpty(tok string) string {
	if tok == "" {
		return ""
	}
	return vendors.MaskToken(tok)
}

// errorKind names a transport failure for the log without its text, which
// holds the full URL.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "connection error"
}
