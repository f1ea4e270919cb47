package auth

import (
	"strings"
	"testing"
)

var fastParams = Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32}

func TestHashPasswordVerifiesOnlyTheSamePassword(t *testing.T) {
	h, err := HashPassword("correct horse battery", fastParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with the given parameters", h)
	}
	if err := VerifyPassword("correct horse battery", h); err != nil {
		t.Fatalf("right password rejected: %v", err)
	}
	if err := VerifyPassword("correct horse batterx", h); err != ErrMismatch {
		t.Fatalf("wrong password: got %v, want ErrMismatch", err)
	}
	h2, _ := HashPassword("correct horse battery", fastParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

func TestVerifyPasswordRejectsMalformedHashes(t *testing.T) {
	for _, h := range []string{"", "plain", "$2y$10$abcdefghijklmnopqrstuv", "$argon2id$v=19$m=x$a$b", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$a2V5"} {
		if err := VerifyPassword("pw", h); err == nil {
			t.Errorf("VerifyPassword accepted malformed hash %q", h)
		}
	}
}

func TestNeedsRehashWhenParametersGrow(t *testing.T) {
	h, _ := HashPassword("pw-pw-pw-pw", fastParams)
	if NeedsRehash(h, fastParams) {
		t.Error("hash with current parameters reported as needing rehash")
	}
	if !NeedsRehash(h, DefaultParams()) {
		t.Error("hash with weaker parameters not reported as needing rehash")
	}
}

func TestPasswordPolicy(t *testing.T) {
	if msg := CheckPasswordPolicy("short"); msg == "" {
		t.Error("5-character password accepted")
	}
	if msg := CheckPasswordPolicy("long enough pw"); msg != "" {
		t.Errorf("valid password refused: %s", msg)
	}
}

func TestNewSecretIsRandomAndHashed(t *testing.T) {
	s1, h1, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	s2, _, _ := NewSecret()
	if s1 == s2 || len(s1) < 40 {
		t.Fatalf("secrets not random or too short: %q %q", s1, s2)
	}
	if string(HashSecret(s1)) != string(h1) {
		t.Fatal("HashSecret does not reproduce the stored hash")
	}
}
