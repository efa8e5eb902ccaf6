package password

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func newCheap(t *testing.T) *Hasher {
	t.Helper()
	h, err := NewHasher(Cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	h := newCheap(t)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=8,t=1,p=1$") {
		t.Fatalf("hash %q does not record its costs", enc)
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horse ": false, "": false} {
		ok, err := h.Verify(ctx, pw, enc)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	again, _ := h.Hash(ctx, "correct horse")
	if again == enc {
		t.Error("two hashes of one password are equal: the salt is not fresh")
	}
}

func TestVerifyReadsCostsFromTheHash(t *testing.T) {
	ctx := context.Background()
	old, err := NewHasher(Params{Time: 2, Memory: 16, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := old.Hash(ctx, "s3cret-enough")
	h := newCheap(t)
	if ok, err := h.Verify(ctx, "s3cret-enough", enc); !ok || err != nil {
		t.Fatalf("a hash made with other costs does not verify: %v, %v", ok, err)
	}
	if !h.NeedsRehash(enc) {
		t.Error("NeedsRehash is false for a hash with other costs")
	}
	if mine, _ := h.Hash(ctx, "x"); h.NeedsRehash(mine) {
		t.Error("NeedsRehash is true for a hash with the current costs")
	}
}

func TestDummyNeverMatches(t *testing.T) {
	h := newCheap(t)
	for _, pw := range []string{"", "password", h.Dummy()} {
		ok, err := h.Verify(context.Background(), pw, h.Dummy())
		if ok || err != nil {
			t.Errorf("Verify(%q, dummy) = %v, %v", pw, ok, err)
		}
	}
}

func TestMalformedHashes(t *testing.T) {
	h := newCheap(t)
	good, _ := h.Hash(context.Background(), "whatever it is")
	parts := strings.Split(good, "$")
	bad := []string{
		"",
		"plain",
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=8,t=1,p=1", "m=8,t=1", 1),
		strings.Replace(good, "m=8,t=1,p=1", "t=1,m=8,p=1", 1),
		strings.Replace(good, "m=8,t=1,p=1", "m=8,t=1,p=1,x=2", 1),
		strings.Replace(good, "m=8,t=1,p=1", "m=8,t=0,p=1", 1),
		strings.Replace(good, "m=8,t=1,p=1", "m=99999999,t=1,p=1", 1),
		strings.Replace(good, "m=8,t=1,p=1", "m=8,t=1,p=300", 1),
		strings.Join(append(slices.Clone(parts[:4]), "!!", parts[5]), "$"),
		strings.Join(append(slices.Clone(parts[:5]), "AAAA"), "$"),
		good + "$",
	}
	for _, enc := range bad {
		if _, err := h.Verify(context.Background(), "whatever it is", enc); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) error = %v, want ErrMalformed", enc, err)
		}
	}
}

func TestHashWaitsForContext(t *testing.T) {
	h := newCheap(t)
	for range cap(h.slots) {
		h.slots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "long enough"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with every slot taken and a canceled context = %v", err)
	}
}

func TestNewHasherRefusesBadCosts(t *testing.T) {
	for _, p := range []Params{{Time: 1, Memory: 4, Threads: 1}, {Time: 0, Memory: 64, Threads: 1},
		{Time: 1, Memory: 64, Threads: 0}, {Time: 1, Memory: 8, Threads: 2}} {
		if _, err := NewHasher(p); err == nil {
			t.Errorf("NewHasher(%+v) accepted", p)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		password, username string
		want               []string
	}{
		{"a-fine-Passphrase", "alice", nil},
		{"Tr0ub4dor&3x", "", nil},
		{"short", "alice", []string{TooShort}},
		{"1234567", "bob", []string{TooShort, AllNumeric, TooCommon}},
		{"", "bob", []string{TooShort}},
		{"84017395", "bob", []string{AllNumeric}},
		{"٣٣٣٣٣٣٣٣٣", "bob", []string{AllNumeric}},
		{"PASSWORD", "bob", []string{TooCommon}},
		{"Qwertyuiop", "bob", []string{TooCommon}},
		{"longusername", "LongUserName", []string{TooSimilar}},
		{"longusername1", "longusername", []string{TooSimilar}},
		{"emanresugnol", "longusername", nil},
		{"carolinesmith", "carolinesmith1985", []string{TooSimilar}},
		{"carol-tulip-harbor-77", "carol", nil},
		{"walrus99x", "walrus", []string{TooSimilar}},
		{"ñandú1234", "ñandú", []string{TooSimilar}},
		{"ñandú-ñandú-ñandú", "ñandú", nil},
	}
	for _, c := range cases {
		got := Validate(c.password, c.username)
		if !slices.Equal(got, c.want) {
			t.Errorf("Validate(%q, %q) = %q, want %q", c.password, c.username, got, c.want)
		}
	}
}

func TestCommonListIsLoaded(t *testing.T) {
	set := common()
	if len(set) < 300 {
		t.Fatalf("common list has %d entries, want a few hundred", len(set))
	}
	for w := range set {
		if w != strings.ToLower(w) || strings.TrimSpace(w) != w || strings.HasPrefix(w, "#") {
			t.Errorf("common list entry %q is not normalized", w)
		}
	}
}

func TestSimilarIsBoundedForLongPasswords(t *testing.T) {
	long := strings.Repeat("x", 60<<10)
	if similar(long, strings.Repeat("y", 150)) {
		t.Error("unrelated long password is similar")
	}
	if !similar("kangaroo88", "kangaroo99") {
		t.Error("password one edit from the username is not similar")
	}
}

func FuzzDecode(f *testing.F) {
	h, err := NewHasher(Cheap)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := h.Hash(context.Background(), "seed password")
	for _, s := range []string{good, h.Dummy(), "", "$argon2id$v=19$m=8,t=1,p=1$$",
		"$argon2id$v=19$m=,t=,p=$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decode(s)
		if err != nil {
			return
		}
		if p.check() != nil {
			t.Fatalf("decode accepted costs %+v", p)
		}
		p2, salt2, key2, err := decode(encode(p, salt, key))
		if err != nil || p2 != p || !bytes.Equal(salt, salt2) || !bytes.Equal(key, key2) {
			t.Fatalf("re-encoding %q does not decode to the same hash", s)
		}
	})
}
