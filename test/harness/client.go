package harness

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Client speaks the contract's HTTP API to one base URL, with Token as
// the access token when it is not empty.
type Client struct {
	T     *testing.T
	Base  string
	Token string
}

// Do sends body as JSON (none when nil), decodes the JSON answer into
// out when out is not nil, and returns the status. Any failure to talk
// to the server fails the test.
func (c Client) Do(method, path string, body, out any) int {
	c.T.Helper()
	req, err := http.NewRequest(method, c.Base+path, c.encode(body))
	if err != nil {
		c.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "JWT "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.T.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.T.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// encode is body as a JSON reader, nil for no body.
func (c Client) encode(body any) io.Reader {
	c.T.Helper()
	if body == nil {
		return nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		c.T.Fatal(err)
	}
	return bytes.NewReader(b)
}

// User is a user as the contract shows it.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// SignUp registers username with password at the auth service base and
// logs in; it returns the access token and the new user.
func SignUp(t *testing.T, base, username, password string) (string, User) {
	t.Helper()
	c := Client{T: t, Base: base}
	body := map[string]string{"username": username, "password": password}
	var u User
	if st := c.Do("POST", "/auth/users/", body, &u); st != http.StatusCreated {
		t.Fatalf("sign-up of %s: status %d", username, st)
	}
	var tok struct{ Access string }
	st := c.Do("POST", "/auth/jwt/create/", body, &tok)
	if st != http.StatusOK || tok.Access == "" {
		t.Fatalf("login of %s: status %d", username, st)
	}
	return tok.Access, u
}
