// Package storetest is the conformance suite of installstore's backends: one set of tests that
// memory, SQLite and PostgreSQL pass alike, and that a new backend runs the same way.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Place {
//			path := filepath.Join(t.TempDir(), "installs.db")
//			return storetest.Place{Open: func(opts ...installstore.Option) (storetest.Stores, error) {
//				return sqlitestore.Open(context.Background(), path, opts...)
//			}, DB: …}
//		})
//	}
package storetest

import (
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/installstore"
)

// Stores is what a backend's Open returns: an installation store that also keeps OAuth states.
type Stores interface {
	installstore.Store
	installstore.StateStore
}

// Place is where one test stores: an empty storage place of the backend under test.
type Place struct {
	// Open opens a store on the place; the suite closes each. On a persistent place each Open sees
	// what the stores before it saved (a restart, or another process when two are open at once).
	Open func(opts ...installstore.Option) (Stores, error)
	// DB, for an SQL place, is a connection of the suite's own to its database, for the tests of
	// persistence, encryption at rest and migrations; nil for a volatile place (memory), where each
	// Open starts empty and those tests do not run. The place closes it.
	DB *sql.DB
}

// Run runs the suite; newPlace makes an empty place for each test.
func Run(t *testing.T, newPlace func(t *testing.T) Place) {
	for _, variant := range []struct {
		name string
		opts []installstore.Option
	}{
		{"clear", nil},
		{"encrypted", []installstore.Option{installstore.WithEncryptionKey(key(1))}},
	} {
		t.Run(variant.name, func(t *testing.T) {
			t.Parallel()
			s := suite{newPlace: newPlace, opts: variant.opts}
			for _, tc := range []struct {
				name string
				run  func(*testing.T, suite)
			}{
				{"SaveFind", testSaveFind},
				{"NotFound", testNotFound},
				{"InvalidInstallation", testInvalid},
				{"EnterpriseInstall", testEnterpriseInstall},
				{"Users", testUsers},
				{"SaveWithoutBotKeepsBot", testSaveWithoutBot},
				{"Delete", testDelete},
				{"Expiring", testExpiring},
				{"Concurrent", testConcurrent},
				{"CanceledContext", testCanceled},
				{"StateOnce", testStateOnce},
				{"StateExpiry", testStateExpiry},
				{"StateConcurrentConsume", testStateConcurrent},
				{"Reopen", testReopen},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, s)
				})
			}
		})
	}
	sqlTests := []struct {
		name string
		run  func(*testing.T, func(*testing.T) Place)
	}{
		{"WrongKey", testWrongKey},
		{"KeyAdded", testKeyAdded},
		{"AtRest", testAtRest},
		{"Upgrade", testUpgrade},
		{"NewerSchema", testNewerSchema},
		{"ConcurrentOpen", testConcurrentOpen},
	}
	t.Run("persistent", func(t *testing.T) {
		t.Parallel()
		for _, tc := range sqlTests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, newPlace)
			})
		}
	})
}

type suite struct {
	newPlace func(*testing.T) Place
	opts     []installstore.Option
}

// open makes a place and a store on it with the variant's options and extra ones, closed after
// the test.
func (s suite) open(t *testing.T, extra ...installstore.Option) (Stores, Place) {
	t.Helper()
	p := s.newPlace(t)
	return openOn(t, p, append(append([]installstore.Option{}, s.opts...), extra...)...), p
}

func openOn(t *testing.T, p Place, opts ...installstore.Option) Stores {
	t.Helper()
	st, err := p.Open(opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return st
}

// key is a 32-byte test key, different for each n.
func key(n byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = n + byte(i)
	}
	return k
}

// clock is a test clock that moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
