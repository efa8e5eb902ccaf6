package edge

import (
	"math"
	"time"

	"github.com/parley-chat/parley/pkg/rest"
)

// wireError is an error frame's code, detail and ref. The codes are the
// contract's; the sentences come from the same table as the HTTP API's,
// so that both say the same thing in the same words.
type wireError struct {
	Code   string
	Detail string
	Ref    string
}

func (e *wireError) Error() string { return e.Code + ": " + e.Detail }

// with returns a copy of e that echoes ref.
func (e *wireError) with(ref string) *wireError {
	c := *e
	c.Ref = ref
	return &c
}

var (
	errForbidden   = &wireError{Code: "forbidden", Detail: rest.ErrForbidden.Detail}
	errNotFound    = &wireError{Code: "not_found", Detail: rest.ErrNotFound.Detail}
	errUnavailable = &wireError{Code: "unavailable", Detail: rest.ErrUnavailable.Detail}
	errNotObject   = invalid("Each line of a frame must be one JSON object.", "")
	errUnknownType = invalid("Unknown frame type.", "")
)

func invalid(detail, ref string) *wireError {
	return &wireError{Code: "invalid", Detail: detail, Ref: ref}
}

func required(field, ref string) *wireError {
	return invalid(field+": This field is required.", ref)
}

// rateLimited says when the next send will be accepted.
func rateLimited(wait time.Duration, ref string) *wireError {
	secs := int(math.Ceil(wait.Seconds()))
	return &wireError{Code: "rate_limited", Detail: rest.Throttled(secs).Detail, Ref: ref}
}
