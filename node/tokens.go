package node

import (
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/herald-im/herald/actors/feedback"
	"github.com/herald-im/herald/actors/token"
	"github.com/herald-im/herald/persistence"
	"github.com/herald-im/herald/vendors"
)

// Token ownership (SPEC.md §4) and the vendors' dead-token feedback.

// tokenKind is the kind of the token grains, which record the one user
// owning each (notifier, device token) pair.
func (n *Node) tokenKind(registers persistence.Registers) *cluster.Kind {
	return token.NewKind(token.Deps{
		Registers: registers, Logger: n.log.With("component", "token"), Now: time.Now,
		IdleTimeout: n.opts.GrainIdleTimeout,
	})
}

// startFeedback starts polling the feedback API of the Xiaomi notifiers of
// the apps this node holds (see package feedback for the rule).
func (n *Node) startFeedback() {
	n.feedback = feedback.Start(feedback.Options{
		Cluster: n.cluster, Apps: n.apps.All, Interval: n.opts.FeedbackPollInterval,
		RootCAs: vendors.TrustPool(), Logger: n.log.With("component", "feedback"),
		Now: time.Now,
	})
}
