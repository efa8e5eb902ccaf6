package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/parley-chat/parley/pkg/password"
	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/wire"
)

// Field sentences of this service that the contract leaves to us.
const (
	msgRequired      = "This field is required."
	msgUsernameTaken = "A user with that username already exists."
	msgUsernameLong  = "Usernames have at most 150 characters."
	msgUsernameChars = "Usernames may contain only letters, digits and the characters @ . + - _"
	msgUsernameForm  = "Usernames may not use full-width or other compatibility forms of letters."
	msgEmail         = "This is not a valid email address."
)

// maxUsername and maxEmail are the longest values accepted, in
// characters; an email address cannot be longer than 254 anyway.
const (
	maxUsername = 150
	maxEmail    = 254
)

// account is a user as the user themselves sees it: the only view that
// includes the email address.
type account struct {
	wire.User
	Email string `json:"email"`
}

func accountOf(u store.User) account {
	return account{User: wire.User{ID: u.ID, Username: u.Username}, Email: u.Email}
}

// signUp serves POST /auth/users/.
func (s *Service) signUp(w http.ResponseWriter, r *http.Request) error {
	f, err := rest.ReadFields(w, r)
	if err != nil {
		return err
	}
	if err := checkSignUp(f); err != nil {
		return err
	}
	// Every well-formed sign-up counts against its address, before the
	// expensive hash: an unbounded stream of sign-ups would otherwise
	// starve logins of CPU.
	key := [1]limitKey{{"signup:addr:" + s.clientAddr(r), s.cfg.SignUpPerAddr}}
	if err := s.throttled(r.Context(), key[:]); err != nil {
		return err
	}
	if err := s.limiter.Fail(r.Context(), key[0].key, key[0].rate); err != nil {
		return unavailable("recording sign-up", err)
	}
	hash, err := s.hasher.Hash(r.Context(), f["password"])
	if err != nil {
		return fmt.Errorf("hashing password: %w", err)
	}
	u, err := s.users.CreateUser(r.Context(), store.User{
		Username: f["username"], Email: f["email"], PasswordHash: hash, CreatedAt: s.now(),
	})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return rest.FieldError("username", msgUsernameTaken)
	case err != nil:
		return fmt.Errorf("creating user: %w", err)
	}
	rest.WriteJSON(w, http.StatusCreated, accountOf(u))
	return nil
}

// checkSignUp returns every field error of a sign-up at once.
func checkSignUp(f rest.Fields) error {
	var errs rest.FieldErrors
	if msg := checkUsername(f["username"]); msg != "" {
		errs.Add("username", msg)
	}
	if pw := f["password"]; pw == "" {
		errs.Add("password", msgRequired)
	} else {
		for _, msg := range password.Validate(pw, f["username"]) {
			errs.Add("password", msg)
		}
	}
	if email := f["email"]; email != "" && !validEmail(email) {
		errs.Add("email", msgEmail)
	}
	return errs.Err()
}

// checkUsername returns the sentence for what is wrong with name, or "".
func checkUsername(name string) string {
	switch {
	case name == "":
		return msgRequired
	case utf8.RuneCountInString(name) > maxUsername:
		return msgUsernameLong
	case strings.IndexFunc(name, notUsernameRune) >= 0:
		return msgUsernameChars
	case !norm.NFKC.IsNormalString(name):
		// Full-width and other compatibility forms would let "ａｌｉｃｅ"
		// pose as "alice"; a name must already be in its plain form.
		// Letters of other scripts that merely look alike are still
		// accepted: telling them apart needs a confusables table.
		return msgUsernameForm
	}
	return ""
}

func notUsernameRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("@.+-_", r)
}

// validEmail accepts a bare address that net/mail can read. Deliverability
// is not checked: nothing is ever sent to it.
func validEmail(s string) bool {
	if utf8.RuneCountInString(s) > maxEmail {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// me serves GET /auth/users/me/.
func (s *Service) me(w http.ResponseWriter, r *http.Request) error {
	id, err := s.authn.Request(r)
	if err != nil {
		return err
	}
	u, err := s.users.UserByID(r.Context(), id.User.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rest.ErrNotFound
	case err != nil:
		return fmt.Errorf("finding user: %w", err)
	}
	rest.WriteJSON(w, http.StatusOK, accountOf(u))
	return nil
}
