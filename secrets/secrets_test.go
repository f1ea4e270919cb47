package secrets

import (
	"bytes"
	"testing"
)

func TestSealOpenRoundTripAndTamperDetection(t *testing.T) {
	b, err := NewBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal([]byte("ptla_secret-token"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("ptla_secret-token")) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := b.Seal([]byte("ptla_secret-token"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: nonce not random")
	}
	got, err := b.Open(sealed)
	if err != nil || string(got) != "ptla_secret-token" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b.Open(sealed); err == nil {
		t.Fatal("tampered value opened")
	}
	other, _ := NewBox([]byte("another key that is 32 bytes long!"))
	if _, err := other.Open(again); err == nil {
		t.Fatal("value opened with another key")
	}
	if _, err := NewBox([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}
