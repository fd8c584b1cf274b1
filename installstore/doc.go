// Package installstore keeps the Slack installations of an app (bot and user tokens, scopes, bot
// IDs, token expiry, Enterprise Grid IDs) and its OAuth states, in memory, SQLite or PostgreSQL,
// behind one interface.
//
// Memory is this package's NewMemory; SQLite is installstore/sqlitestore (pure Go, no cgo), the
// embedded default; PostgreSQL is installstore/pgstore (pgx), for several processes sharing one
// database. Each backend's store is both a Store and a StateStore, and a Store is the
// switchboard.InstallationStore of a Socket Mode app (BotToken):
//
//	st, err := sqlitestore.Open(ctx, "installs.db", installstore.WithEncryptionKey(key))
//	defer st.Close()
//	err = st.Save(ctx, installstore.FromOAuthV2(resp, time.Now()))
//	inst, err := st.Find(ctx, installstore.Key{TeamID: "T024BE7LH"})
//
// # Keys
//
// An installation is kept per workspace (EnterpriseID, TeamID) or, for an org-wide install
// (IsEnterpriseInstall), per organization (EnterpriseID, no TeamID); the installing users' tokens
// are kept per user beside it. Find of a workspace of an organization installed org-wide finds the
// org-wide installation.
//
// # Encryption at rest
//
// With WithEncryptionKey, tokens and refresh tokens are sealed with AES-256-GCM before they are
// stored (a random nonce per value, bound to its column and key); other fields stay readable.
// Reading a sealed token with another key, or with none, fails with ErrDecrypt. Tokens stored
// before a key was given are read as they are and sealed on their next Save.
//
// # Migrations
//
// The SQL backends apply a versioned list of migrations when they open (table
// installstore_schema_version), each once, in a transaction; several processes may open at once.
// A database whose version is newer than the program's is refused.
package installstore
