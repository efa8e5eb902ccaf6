package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Values of the result label of the auth service's counters.
const (
	ResultSuccess     = "success"
	ResultInvalid     = "invalid"     // bad credentials, or a malformed or unknown token
	ResultExpired     = "expired"     // an expired token or session
	ResultRevoked     = "revoked"     // a revoked session, or a reused refresh token
	ResultThrottled   = "throttled"   // refused for too many failures
	ResultUnavailable = "unavailable" // Redis or the database could not be reached
	ResultError       = "error"       // any other failure of ours
)

// Results lists every result.
var Results = []string{
	ResultSuccess, ResultInvalid, ResultExpired, ResultRevoked,
	ResultThrottled, ResultUnavailable, ResultError,
}

// Auth metrics: logins, refreshes and revocations by result.
var (
	authLogins = in(Auth, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "auth", Name: "logins_total",
		Help: "Password logins, by result.",
	}, []string{"result"}))
	authRefreshes = in(Auth, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "auth", Name: "refreshes_total",
		Help: "Token refreshes, by result.",
	}, []string{"result"}))
	authRevocations = in(Auth, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "auth", Name: "revocations_total",
		Help: "Requests to revoke one session or all of a user's, by result.",
	}, []string{"result"}))

	// AuthThrottled counts requests refused with 429.
	AuthThrottled = in(Auth, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "auth", Name: "throttled_total",
		Help: "Requests refused with 429 for too many failed attempts.",
	}))

	loginsByResult      = children(authLogins, Results...)
	refreshesByResult   = children(authRefreshes, Results...)
	revocationsByResult = children(authRevocations, Results...)
)

// AuthLogins returns the login counter of result, one of Results.
func AuthLogins(result string) prometheus.Counter {
	return pick(loginsByResult, result, ResultError)
}

// AuthRefreshes returns the refresh counter of result, one of Results.
func AuthRefreshes(result string) prometheus.Counter {
	return pick(refreshesByResult, result, ResultError)
}

// AuthRevocations returns the revocation counter of result, one of
// Results.
func AuthRevocations(result string) prometheus.Counter {
	return pick(revocationsByResult, result, ResultError)
}
