package ring

import (
	"context"
	"slices"
)

// driveMigration starts this node's share of a ring change when one is
// due, and cancels a running one the ring moved past.
//
// A node takes part while it is in the current or the previous set (a
// removed node still holds registers to hand over) and has not reported
// done for the current epoch. A failed migration is retried after
// RetryInterval; each attempt runs from scratch, so Migrate must be
// idempotent.
func (m *Manager) driveMigration() {
	v := m.state.View
	self := m.cfg.NodeName
	due := v.Previous != nil && !m.state.DoneFor(self) &&
		(contains(v.Nodes, self) || contains(v.Previous, self))

	if m.running != nil && (!due || m.running.epoch != v.Epoch) {
		m.running.cancel()
		m.running = nil
	}
	if !due || m.running != nil || m.cfg.Clock.Now().Before(m.retryAt) {
		return
	}

	from := View{Epoch: v.Epoch, Nodes: slices.Clone(v.Previous)}
	to := View{Epoch: v.Epoch, Nodes: slices.Clone(v.Nodes), Previous: slices.Clone(v.Previous)}
	ctx, cancel := context.WithCancel(m.baseCtx)
	m.nextID++
	run := &migration{id: m.nextID, epoch: v.Epoch, cancel: cancel}
	m.running = run
	m.log.Info("ring migration started", "epoch", v.Epoch)

	m.workers.Add(1)
	go func() {
		defer m.workers.Done()
		defer cancel()
		err := m.cfg.Migrate(ctx, from, to)
		select {
		case m.migrated <- migrationResult{id: run.id, epoch: run.epoch, err: err}:
		case <-m.stop:
		}
	}()
}

// finishMigration records the result of a migration goroutine. A result
// of a migration that was cancelled meanwhile is dropped.
func (m *Manager) finishMigration(res migrationResult) {
	if m.running == nil || m.running.id != res.id {
		return
	}
	m.running = nil
	if res.err != nil {
		m.retryAt = m.cfg.Clock.Now().Add(m.cfg.RetryInterval)
		m.log.Warn("ring migration failed; will retry", "epoch", res.epoch,
			"retry_in", m.cfg.RetryInterval, "err", res.err)
		return
	}
	m.retryAt = m.cfg.Clock.Now()
	next, changed := m.state.MarkDone(m.cfg.NodeName, res.epoch)
	if changed {
		m.log.Info("ring migration done on this node", "epoch", res.epoch)
		m.adopt(next)
	}
}

func contains(nodes []Node, name string) bool {
	_, ok := findNode(nodes, name)
	return ok
}
