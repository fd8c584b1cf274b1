package installstore

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// sealedPrefix starts every sealed value: its format version, then base64(nonce ‖ ciphertext).
const sealedPrefix = "enc1:"

// seal encrypts a token for storage in column col of the row named by k, if the store has a key.
// "" stays "": it says "no token", which Save's merge relies on.
func (c *config) seal(v, col string, k Key) (string, error) {
	if c.aead == nil || v == "" {
		return v, nil
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("installstore: nonce: %w", err)
	}
	out := c.aead.Seal(nonce, nonce, []byte(v), aad(col, k))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// open decrypts what seal stored; a value without the prefix was stored in clear and is returned
// as it is.
func (c *config) open(v, col string, k Key) (string, error) {
	if !strings.HasPrefix(v, sealedPrefix) {
		return v, nil
	}
	where := fmt.Sprintf("%s of %s", col, describe(k))
	if c.aead == nil {
		return "", fmt.Errorf("%w: %s is encrypted and the store has no key (WithEncryptionKey)", ErrDecrypt, where)
	}
	raw, err := base64.RawStdEncoding.DecodeString(v[len(sealedPrefix):])
	if err != nil || len(raw) < c.aead.NonceSize() {
		return "", fmt.Errorf("%w: %s is damaged", ErrDecrypt, where)
	}
	n := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, raw[:n], raw[n:], aad(col, k))
	if err != nil {
		return "", fmt.Errorf("%w: %s: wrong encryption key, or the value was altered", ErrDecrypt, where)
	}
	return string(plain), nil
}

// aad binds a sealed value to its column and row, so that one cannot be moved to another.
func aad(col string, k Key) []byte {
	return []byte(col + "\x00" + k.EnterpriseID + "\x00" + k.TeamID + "\x00" + k.UserID)
}

func describe(k Key) string {
	s := "team " + k.TeamID
	if k.TeamID == "" {
		s = "enterprise " + k.EnterpriseID
	} else if k.EnterpriseID != "" {
		s += " (enterprise " + k.EnterpriseID + ")"
	}
	if k.UserID != "" {
		s += " user " + k.UserID
	}
	return s
}
