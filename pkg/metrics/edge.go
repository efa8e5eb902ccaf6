package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Edge metrics: sockets, subscriptions and the live message path.
var (
	// EdgeConnections is the number of open sockets.
	EdgeConnections = in(Edge, prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "edge", Name: "connections",
		Help: "WebSockets open on this edge.",
	}))
	// EdgeSubscriptions is the number of (socket, chat) subscriptions.
	EdgeSubscriptions = in(Edge, prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "edge", Name: "subscriptions",
		Help: "Chat subscriptions of the sockets on this edge.",
	}))
	// EdgeChats is the number of chats with at least one local
	// subscriber, which is the number of NATS subscriptions the hub holds.
	EdgeChats = in(Edge, prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "edge", Name: "chats",
		Help: "Chats with at least one subscriber on this edge.",
	}))
	// EdgeFanout times one live message from its arrival from NATS until
	// it is queued for every local subscriber: once per message per edge.
	EdgeFanout = in(Edge, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "edge", Name: "fanout_seconds",
		Help:    "Time from a live message's arrival from NATS to its queueing for every local socket.",
		Buckets: latencyBuckets,
	}))
	// EdgeSendAck times a send from its frame to its ack, membership
	// check and JetStream's store included.
	EdgeSendAck = in(Edge, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "edge", Name: "send_ack_seconds",
		Help:    "Time from a send frame to its ack, once JetStream has stored the message.",
		Buckets: latencyBuckets,
	}))
	// EdgeSlowDisconnects counts sockets closed for not reading fast
	// enough.
	EdgeSlowDisconnects = in(Edge, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "edge", Name: "slow_consumer_disconnects_total",
		Help: "Sockets closed because they did not read their messages fast enough.",
	}))
	// EdgeLiveGaps counts live messages that arrived with others missing
	// before them; subscribers recover them from the stream.
	EdgeLiveGaps = in(Edge, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "edge", Name: "live_gaps_total",
		Help: "Live messages that arrived from NATS with earlier ones missing.",
	}))

	edgeClosed = in(Edge, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "edge", Name: "connections_closed_total",
		Help: "Sockets closed, by WebSocket close code (\"other\" for codes not listed).",
	}, []string{"code"}))
	edgeReceived = in(Edge, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "edge", Name: "frames_received_total",
		Help: "Client objects received, by type; \"invalid\" for malformed or unknown ones.",
	}, []string{"type"}))
	edgeSent = in(Edge, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "edge", Name: "frames_sent_total",
		Help: "Server objects sent, by type; packed objects count one each.",
	}, []string{"type"}))
	edgeAuthFailures = in(Edge, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "edge", Name: "auth_failures_total",
		Help: "Socket authentications refused, by reason.",
	}, []string{"reason"}))
)

// CloseCodes are the close codes counted by their number; any other code
// counts as "other".
var CloseCodes = []int{1000, 1001, 1006, 1008, 1009, 1011, 1012, 1013, 4001, 4003}

// Values of the type label of frames received and sent.
var (
	ReceivedTypes = []string{"auth", "subscribe", "unsubscribe", "send", "invalid"}
	SentTypes     = []string{"ready", "subscribed", "message", "ack", "error"}
)

// Values of the reason label of EdgeAuthFailure.
const (
	AuthTimeout     = "timeout"     // no auth frame in time
	AuthNotFirst    = "not_first"   // the first frame was not auth
	AuthInvalid     = "invalid"     // malformed or badly signed token
	AuthExpired     = "expired"     // token expired
	AuthRevoked     = "revoked"     // session revoked
	AuthOtherUser   = "other_user"  // a later token for another user
	AuthUnavailable = "unavailable" // the denylist could not be asked
)

// AuthReasons lists every reason.
var AuthReasons = []string{
	AuthTimeout, AuthNotFirst, AuthInvalid, AuthExpired, AuthRevoked, AuthOtherUser, AuthUnavailable,
}

var (
	closedByCode   = closedChildren()
	receivedByType = children(edgeReceived, ReceivedTypes...)
	sentByType     = children(edgeSent, SentTypes...)
	authByReason   = children(edgeAuthFailures, AuthReasons...)
)

func closedChildren() map[int]prometheus.Counter {
	m := make(map[int]prometheus.Counter, len(CloseCodes)+1)
	for _, code := range CloseCodes {
		m[code] = edgeClosed.WithLabelValues(strconv.Itoa(code))
	}
	m[0] = edgeClosed.WithLabelValues("other")
	return m
}

// EdgeClosed returns the counter of sockets closed with code.
func EdgeClosed(code int) prometheus.Counter {
	if c, ok := closedByCode[code]; ok {
		return c
	}
	return closedByCode[0]
}

// EdgeReceived returns the counter of client objects of type typ; an
// unknown type counts as "invalid".
func EdgeReceived(typ string) prometheus.Counter {
	return pick(receivedByType, typ, "invalid")
}

// EdgeSent returns the counter of server objects of type typ, which must
// be one of SentTypes; any other counts as "error".
func EdgeSent(typ string) prometheus.Counter {
	return pick(sentByType, typ, "error")
}

// EdgeAuthFailure returns the counter of refusals for reason, one of
// AuthReasons; any other counts as "invalid".
func EdgeAuthFailure(reason string) prometheus.Counter {
	return pick(authByReason, reason, AuthInvalid)
}
