// Package token issues and verifies Parley's JWTs: short-lived access
// tokens and the longer-lived refresh tokens, signed with Ed25519 keys
// named by kid. It also serves and fetches the JSON Web Key Set through
// which edges and archivers learn the verification keys. Issuers,
// verifiers, key sets and JWKS clients are safe for concurrent use.
package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Key is one Ed25519 signing key and its key id.
type Key struct {
	ID      string
	Private ed25519.PrivateKey
}

// Public returns the verification half of k.
func (k Key) Public() ed25519.PublicKey {
	return k.Private.Public().(ed25519.PublicKey)
}

// GenerateKey makes a new random key.
func GenerateKey() (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("generating ed25519 key: %w", err)
	}
	return newKey(priv), nil
}

// newKey names priv by the RFC 7638 thumbprint of its public key, so the
// same key always has the same kid wherever it is loaded.
func newKey(priv ed25519.PrivateKey) Key {
	pub := priv.Public().(ed25519.PublicKey)
	canon := fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":"%s"}`,
		base64.RawURLEncoding.EncodeToString(pub))
	sum := sha256.Sum256([]byte(canon))
	return Key{ID: base64.RawURLEncoding.EncodeToString(sum[:]), Private: priv}
}

// MarshalPEM encodes k as a PKCS #8 PEM block.
func (k Key) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePEM reads every PKCS #8 Ed25519 private key in data, in order.
func ParsePEM(data []byte) ([]Key, error) {
	var keys []Key
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "PRIVATE KEY" {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing private key: %w", err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key is %T, want ed25519", k)
		}
		keys = append(keys, newKey(priv))
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM private key found")
	}
	return keys, nil
}

// LoadFiles reads the keys in the listed PEM files, in order.
func LoadFiles(paths []string) ([]Key, error) {
	var keys []Key
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading signing key: %w", err)
		}
		ks, err := ParsePEM(data)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", p, err)
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}

// LoadKeys gathers the signing keys of a deployment: first those in
// pemText (the PEM blocks of PARLEY_SIGNING_KEYS), then those in each of
// files, in order. The first key gathered signs new tokens; the rest only
// verify, which is how a new key is rolled in ahead of the old one and
// the old one kept until its last tokens expire. A key given twice
// counts once, at its first place.
func LoadKeys(pemText string, files []string) ([]Key, error) {
	var keys []Key
	if strings.TrimSpace(pemText) != "" {
		ks, err := ParsePEM([]byte(pemText))
		if err != nil {
			return nil, fmt.Errorf("signing keys from the environment: %w", err)
		}
		keys = ks
	}
	ks, err := LoadFiles(files)
	if err != nil {
		return nil, err
	}
	keys = append(keys, ks...)
	if len(keys) == 0 {
		return nil, errors.New("no signing key given")
	}
	seen := map[string]bool{}
	return slices.DeleteFunc(keys, func(k Key) bool {
		dup := seen[k.ID]
		seen[k.ID] = true
		return dup
	}), nil
}

// LoadOrCreateFile reads the keys in path, or generates one and writes it
// there (mode 0600) when the file does not exist. The all-in-one uses it
// to keep its key between runs.
func LoadOrCreateFile(path string) ([]Key, error) {
	keys, err := LoadFiles([]string{path})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return keys, err
	}
	k, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	data, err := k.MarshalPEM()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("writing signing key: %w", err)
	}
	return []Key{k}, nil
}

// ErrUnknownKey means a token names a kid no known key has.
var ErrUnknownKey = errors.New("unknown signing key")

// KeySource finds the public key for a kid.
type KeySource interface {
	PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// KeySet is a fixed list of keys: the first signs, all verify.
type KeySet struct {
	keys []Key
}

// NewKeySet returns a set of keys; keys[0] signs new tokens.
func NewKeySet(keys []Key) (*KeySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("a key set needs at least one key")
	}
	return &KeySet{keys: append([]Key(nil), keys...)}, nil
}

// Signer returns the key that signs new tokens.
func (s *KeySet) Signer() Key { return s.keys[0] }

// PublicKey implements KeySource.
func (s *KeySet) PublicKey(_ context.Context, kid string) (ed25519.PublicKey, error) {
	for _, k := range s.keys {
		if k.ID == kid {
			return k.Public(), nil
		}
	}
	return nil, ErrUnknownKey
}

// JWK is one key of a JSON Web Key Set.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is a JSON Web Key Set document.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the set's public keys as a JSON Web Key Set.
func (s *KeySet) JWKS() JWKS {
	doc := JWKS{Keys: make([]JWK, 0, len(s.keys))}
	for _, k := range s.keys {
		doc.Keys = append(doc.Keys, JWK{
			Kty: "OKP", Crv: "Ed25519", Alg: Algorithm, Use: "sig", Kid: k.ID,
			X: base64.RawURLEncoding.EncodeToString(k.Public()),
		})
	}
	return doc
}

// parseJWKS returns the Ed25519 keys of a JWKS document by kid, skipping
// keys of other types.
func parseJWKS(data []byte) (map[string]ed25519.PublicKey, error) {
	var doc JWKS
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decoding JWKS: %w", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range doc.Keys {
		if k.Kty != "OKP" || !strings.EqualFold(k.Crv, "Ed25519") || k.Kid == "" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("JWKS key %q has a bad x", k.Kid)
		}
		keys[k.Kid] = ed25519.PublicKey(x)
	}
	return keys, nil
}
