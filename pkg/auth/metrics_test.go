package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/rest"
)

func TestResultOf(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, metrics.ResultSuccess},
		{errBadCredentials, metrics.ResultInvalid},
		{rest.ErrTokenInvalid, metrics.ResultInvalid},
		{fmt.Errorf("refreshing: %w", rest.ErrTokenExpired), metrics.ResultExpired},
		{rest.ErrTokenRevoked, metrics.ResultRevoked},
		{rest.Throttled(3), metrics.ResultThrottled},
		{unavailable("checking revocation", errors.New("redis down")), metrics.ResultUnavailable},
		{errors.New("finding session: broken"), metrics.ResultError},
		{rest.ErrInternal, metrics.ResultError},
	}
	for _, tt := range tests {
		if got := resultOf(tt.err); got != tt.want {
			t.Errorf("resultOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestCountedThrottled(t *testing.T) {
	h := counted(metrics.AuthLogins, func(http.ResponseWriter, *http.Request) error {
		return rest.Throttled(5)
	})
	logins := metrics.AuthLogins(metrics.ResultThrottled)
	before, throttledBefore := testutil.ToFloat64(logins), testutil.ToFloat64(metrics.AuthThrottled)
	err := h(httptest.NewRecorder(), httptest.NewRequest("POST", "/auth/jwt/create/", nil))
	if err == nil {
		t.Fatal("the wrapped error was lost")
	}
	if got := testutil.ToFloat64(logins) - before; got != 1 {
		t.Errorf("throttled logins went up by %v, want 1", got)
	}
	if got := testutil.ToFloat64(metrics.AuthThrottled) - throttledBefore; got != 1 {
		t.Errorf("throttled requests went up by %v, want 1", got)
	}
}
