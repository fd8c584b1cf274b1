package installstore

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"time"
)

// Option configures a store; every backend takes the same ones.
type Option func(*config) error

type config struct {
	aead cipher.AEAD      // nil: tokens stored as they are
	now  func() time.Time // the clock of state expiry and of a zero InstalledAt
}

func defaultConfig() *config { return &config{now: time.Now} }

func newConfig(opts []Option) (*config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WithEncryptionKey seals tokens and refresh tokens at rest with AES-256-GCM under key, which must
// be 32 bytes (from a secret manager, say; keep it: without it the tokens are lost). Default: tokens
// are stored in clear.
func WithEncryptionKey(key []byte) Option {
	return func(c *config) error {
		if len(key) != 32 {
			return fmt.Errorf("installstore: encryption key is %d bytes, AES-256 needs 32", len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return fmt.Errorf("installstore: encryption key: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return fmt.Errorf("installstore: encryption key: %w", err)
		}
		c.aead = aead
		return nil
	}
}

// WithClock replaces the clock that states expire by and that dates a Save without InstalledAt.
// Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("installstore: nil clock")
		}
		c.now = now
		return nil
	}
}
