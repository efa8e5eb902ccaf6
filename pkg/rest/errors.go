// Package rest holds what every Parley HTTP service shares: the contract's
// table of error answers, reading JSON and form-encoded bodies alike,
// routing with JSON 404 and 405 answers, the trailing-slash rule, CORS and
// the Authorization header. Everything here is safe for concurrent use.
package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Error is an answer that reaches a client: a status and either a detail
// sentence or field errors. Wire errors come only from the values and
// constructors below, so that a sentence never changes by accident.
type Error struct {
	Status     int
	Detail     string
	Fields     map[string][]string
	RetryAfter int // seconds; sets Retry-After when positive
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%d %s", e.Status, e.Detail)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Sprintf("%d invalid fields: %s", e.Status, strings.Join(keys, ", "))
}

// The contract's whole-request errors.
var (
	ErrNoCredentials = &Error{Status: 401, Detail: "Authentication credentials were not provided."}
	ErrTokenExpired  = &Error{Status: 401, Detail: "Signature has expired."}
	ErrTokenInvalid  = &Error{Status: 401, Detail: "Error decoding signature."}
	ErrTokenRevoked  = &Error{Status: 401, Detail: "Token has been revoked."}
	ErrForbidden     = &Error{Status: 403, Detail: "You do not have permission to perform this action."}
	ErrNotFound      = &Error{Status: 404, Detail: "Not found."}
	ErrTooLarge      = &Error{Status: 413, Detail: "Request body is too large."}
	ErrUnavailable   = &Error{Status: 503, Detail: "Service temporarily unavailable, try again later."}
	ErrInternal      = &Error{Status: 500, Detail: "A server error occurred."}
)

// MethodNotAllowed is the answer for a known path and an unknown method.
func MethodNotAllowed(method string) *Error {
	return &Error{Status: 405, Detail: fmt.Sprintf("Method %q not allowed.", method)}
}

// UnsupportedMediaType is the answer for a body that is neither JSON nor a form.
func UnsupportedMediaType(ct string) *Error {
	return &Error{Status: 415, Detail: fmt.Sprintf("Unsupported media type %q in request.", ct)}
}

// ParseError is the answer for a body that does not parse.
func ParseError(reason string) *Error {
	return &Error{Status: 400, Detail: "JSON parse error - " + reason}
}

// Throttled is the 429 answer; seconds is when the client may try again.
func Throttled(seconds int) *Error {
	if seconds < 1 {
		seconds = 1
	}
	return &Error{
		Status:     429,
		Detail:     fmt.Sprintf("Request was throttled. Expected available in %d seconds.", seconds),
		RetryAfter: seconds,
	}
}

// FieldErrors collects 400 errors about fields; the zero value is ready.
type FieldErrors map[string][]string

// Add records msg against field.
func (f *FieldErrors) Add(field, msg string) {
	if *f == nil {
		*f = FieldErrors{}
	}
	(*f)[field] = append((*f)[field], msg)
}

// Err returns the collected errors as a 400, or nil when there are none.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Status: 400, Fields: f}
}

// FieldError is a 400 with one message on one field.
func FieldError(field, msg string) *Error {
	return &Error{Status: 400, Fields: map[string][]string{field: {msg}}}
}

// WriteJSON writes v as a JSON answer with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encoding failure here means the client went away mid-write;
	// there is nobody left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes err in the contract's shape. An error that is not an
// *Error is a server fault and is answered with a generic 500, never with
// its text, which may hold internal details.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = ErrInternal
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Fields != nil {
		WriteJSON(w, e.Status, e.Fields)
		return
	}
	WriteJSON(w, e.Status, map[string]string{"detail": e.Detail})
}
