package auth

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/rest"
)

// handlerFunc is a route's handler before serve adapts it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// counted counts each outcome of h in the result counter count gives,
// and each 429 in parley_auth_throttled_total.
func counted(count func(result string) prometheus.Counter, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := h(w, r)
		result := resultOf(err)
		count(result).Inc()
		if result == metrics.ResultThrottled {
			metrics.AuthThrottled.Inc()
		}
		return err
	}
}

// resultOf names the outcome of a handler's error for the metrics: the
// client's fault, ours, or an unreachable dependency.
func resultOf(err error) string {
	var e *rest.Error
	switch {
	case err == nil:
		return metrics.ResultSuccess
	case errors.Is(err, rest.ErrTokenExpired):
		return metrics.ResultExpired
	case errors.Is(err, rest.ErrTokenRevoked):
		return metrics.ResultRevoked
	case errors.Is(err, rest.ErrUnavailable):
		return metrics.ResultUnavailable
	case !errors.As(err, &e) || e.Status >= 500:
		return metrics.ResultError
	case e.Status == http.StatusTooManyRequests:
		return metrics.ResultThrottled
	}
	return metrics.ResultInvalid
}
