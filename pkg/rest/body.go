package rest

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
)

// MaxBody is the largest request body any endpoint reads.
const MaxBody = 64 << 10

// Fields is a flat request body: field name to string value. Every body in
// the contract is flat, which is what lets JSON and form encoding share one
// reader.
type Fields map[string]string

// Has reports whether the body carried field at all.
func (f Fields) Has(field string) bool {
	_, ok := f[field]
	return ok
}

// ReadFields reads a JSON or form-encoded body. An empty body is an empty
// set of fields. JSON numbers and booleans are kept as their text, null is
// treated as absent, and nested values are a 400 on their field.
func ReadFields(w http.ResponseWriter, r *http.Request) (Fields, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, ErrTooLarge
		}
		return nil, ParseError("could not read the body")
	}
	if len(body) == 0 {
		return Fields{}, nil
	}

	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/x-www-form-urlencoded":
		return readForm(body)
	case "application/json", "":
		return readJSON(body)
	default:
		return nil, UnsupportedMediaType(ct)
	}
}

func readForm(body []byte) (Fields, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &Error{Status: 400, Detail: "Form parse error - malformed body."}
	}
	f := Fields{}
	for k, v := range vals {
		if len(v) > 0 {
			f[k] = v[0]
		}
	}
	return f, nil
}

func readJSON(body []byte) (Fields, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, ParseError("the body must be a JSON object")
	}
	f := Fields{}
	var errs FieldErrors
	for k, v := range raw {
		var any any
		if err := json.Unmarshal(v, &any); err != nil {
			return nil, ParseError("the body must be a JSON object")
		}
		switch x := any.(type) {
		case nil:
		case string:
			f[k] = x
		case float64:
			f[k] = string(v)
		case bool:
			f[k] = strconv.FormatBool(x)
		default:
			errs.Add(k, "Not a valid string.")
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return f, nil
}
