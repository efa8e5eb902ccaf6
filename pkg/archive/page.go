package archive

import (
	"net/url"
	"strconv"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/store"
)

// History page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 500
)

// Sentences for bad query parameters, in the words the contract's other
// field errors use.
const (
	errNotInteger = "A valid integer is required."
	errBelowOne   = "Ensure this value is greater than or equal to 1."
	errAboveMax   = "Ensure this value is less than or equal to 500."
)

// parsePage reads limit, before and after from a history request. A
// parameter given empty counts as absent, as a blank form field would.
func parsePage(q url.Values) (store.Page, error) {
	p := store.Page{Limit: DefaultLimit}
	var errs rest.FieldErrors
	if n, ok := positive(q, "limit", &errs); ok {
		if n > MaxLimit {
			errs.Add("limit", errAboveMax)
		} else {
			p.Limit = int(n)
		}
	}
	if n, ok := positive(q, "before", &errs); ok {
		p.Before = n
	}
	if n, ok := positive(q, "after", &errs); ok {
		p.After = n
	}
	if err := errs.Err(); err != nil {
		return store.Page{}, err
	}
	return p, nil
}

// positive reads q's field as a positive integer, recording what is wrong
// with it in errs. ok is false when the field is absent or bad.
func positive(q url.Values, field string, errs *rest.FieldErrors) (n int64, ok bool) {
	v := q.Get(field)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		errs.Add(field, errNotInteger)
		return 0, false
	case n < 1:
		errs.Add(field, errBelowOne)
		return 0, false
	}
	return n, true
}
