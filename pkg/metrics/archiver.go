package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Archiver metrics: the durable consumer that writes history.
var (
	// ArchiverPersisted counts messages committed to the database.
	ArchiverPersisted = in(Archiver, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "archiver", Name: "messages_persisted_total",
		Help: "Stream messages committed to the database and acknowledged.",
	}))
	// ArchiverDeadLetters counts messages moved to the dead-letter
	// stream: malformed, for an unknown chat, or refused by the database
	// on every try. They are not in history.
	ArchiverDeadLetters = in(Archiver, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "archiver", Name: "dead_letters_total",
		Help: "Stream messages moved to dead letters instead of history.",
	}))
	// ArchiverRedelivered counts messages the consumer received again
	// after an earlier delivery was not acknowledged.
	ArchiverRedelivered = in(Archiver, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "archiver", Name: "messages_redelivered_total",
		Help: "Stream messages delivered to the archiver more than once.",
	}))
	// ArchiverBatchSize is the number of messages in each database write.
	ArchiverBatchSize = in(Archiver, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "archiver", Name: "batch_size",
		Help:    "Messages written to the database in one batch.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
	}))
	// ArchiverCommit times each batch's write and commit.
	ArchiverCommit = in(Archiver, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "archiver", Name: "commit_seconds",
		Help:    "Time to write and commit one batch of messages.",
		Buckets: latencyBuckets,
	}))
	// ArchiverPending is the number of stream messages the consumer has
	// yet to receive, as of the last message it received.
	ArchiverPending = in(Archiver, prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "archiver", Name: "consumer_pending",
		Help: "Stream messages not yet delivered to the archiver's consumer, as of its last delivery.",
	}))
	// ArchiverDBErrors counts failed database writes of messages.
	ArchiverDBErrors = in(Archiver, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "archiver", Name: "database_errors_total",
		Help: "Failed database writes of stream messages.",
	}))
)
