// Package secrets encrypts values kept at rest (panel credentials, service passwords) with
// AES-256-GCM under a key derived from APP_KEY.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Box seals and opens secrets. The zero value is not usable; use NewBox.
type Box struct {
	aead cipher.AEAD
}

// NewBox derives the encryption key from appKey (at least 32 bytes).
func NewBox(appKey []byte) (*Box, error) {
	if len(appKey) < 32 {
		return nil, errors.New("secrets: APP_KEY must be at least 32 bytes")
	}
	key := sha256.Sum256(append([]byte("ezscale secrets v1\x00"), appKey...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; the result is nonce || ciphertext.
func (b *Box) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secrets: nonce: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plaintext, nil), nil
}

// Open decrypts what Seal made; a wrong key or tampered data is an error.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("secrets: sealed value too short")
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, errors.New("secrets: cannot decrypt (wrong APP_KEY or damaged value)")
	}
	return out, nil
}
