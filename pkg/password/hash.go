// Package password stores passwords as salted argon2id hashes and judges
// new passwords against the contract's rules. Hashes are self-describing
// strings that carry their own costs and salt, so the costs can rise later
// without invalidating stored hashes. A Hasher and Validate are safe for
// concurrent use.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's costs. They are written into every hash, so a
// change affects new hashes only.
type Params struct {
	Time    uint32 // passes over the memory
	Memory  uint32 // KiB
	Threads uint8
}

// Default costs about 50 ms and 64 MiB per hash on a 2-core server.
var Default = Params{Time: 2, Memory: 64 << 10, Threads: 2}

// Cheap costs microseconds. It exists so that tests which create many
// users stay fast; it protects nothing.
var Cheap = Params{Time: 1, Memory: 8, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	scheme  = "argon2id"
)

// ErrMalformed means a stored hash cannot be read.
var ErrMalformed = errors.New("malformed password hash")

// Hasher hashes and verifies passwords with one set of costs.
type Hasher struct {
	params Params
	dummy  string
	// slots bounds the hashes computed at once: each holds Memory KiB,
	// and a burst of logins must queue rather than exhaust memory.
	slots chan struct{}
}

// NewHasher returns a Hasher for p; the zero Params means Default.
func NewHasher(p Params) (*Hasher, error) {
	if p == (Params{}) {
		p = Default
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	h := &Hasher{params: p, slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
	dummy, err := h.hash(rand.Text())
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

func (p Params) check() error {
	switch {
	case p.Time < 1 || p.Time > 64:
		return fmt.Errorf("argon2 time %d is not within 1 to 64", p.Time)
	case p.Threads < 1 || p.Threads > 64:
		return fmt.Errorf("argon2 threads %d is not within 1 to 64", p.Threads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > 4<<20:
		return fmt.Errorf("argon2 memory %d KiB is not within 8×threads to 4 GiB", p.Memory)
	}
	return nil
}

// Dummy returns a hash of a password nobody knows. Verifying against it
// spends the time a real check would, so that a login for a user who does
// not exist cannot be told apart by its duration.
func (h *Hasher) Dummy() string { return h.dummy }

// Hash returns the encoded hash of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash(password)
}

func (h *Hasher) hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	// crypto/rand.Read never fails on supported platforms.
	_, _ = rand.Read(salt)
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return encode(p, salt, key), nil
}

// Verify reports whether password matches encoded, comparing in constant
// time. A hash it cannot read is ErrMalformed.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded was made with other costs than h's,
// so that it should be replaced after the next successful login.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	return err != nil || p != h.params
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting to hash a password: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// encode writes the PHC string form: $argon2id$v=19$m=M,t=T,p=P$salt$key.
func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", scheme, argon2.Version,
		p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode reads what encode writes. It refuses costs outside the bounds
// NewHasher accepts, so a corrupt row cannot make one login allocate
// gigabytes or spin for minutes.
func decode(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != scheme ||
		parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, ErrMalformed
	}
	p, err := decodeParams(parts[3])
	if err != nil {
		return Params{}, nil, nil, err
	}
	salt, err1 := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}

func decodeParams(s string) (Params, error) {
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		field, rest, _ := strings.Cut(s, ",")
		num, ok := strings.CutPrefix(field, name)
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil || (i == 2) != (rest == "") {
			return Params{}, ErrMalformed
		}
		vals[i], s = v, rest
	}
	if vals[2] > 255 {
		return Params{}, ErrMalformed
	}
	p := Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	if p.check() != nil {
		return Params{}, ErrMalformed
	}
	return p, nil
}
