package archive

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/metrics"
)

// observeDelivery records what a delivered message says about the
// consumer: how many messages wait behind it, and whether it came before.
// A message without metadata says nothing, which is no fault of ours.
func observeDelivery(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		return
	}
	metrics.ArchiverPending.Set(float64(md.NumPending))
	if md.NumDelivered > 1 {
		metrics.ArchiverRedelivered.Inc()
	}
}

// observeCommit records one batch written and committed in took.
func observeCommit(n int, took time.Duration) {
	metrics.ArchiverBatchSize.Observe(float64(n))
	metrics.ArchiverCommit.Observe(took.Seconds())
}
