package sqlitestore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/installstore/sqlitestore"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	key := bytes.Repeat([]byte{1}, 32) // yours comes from a secret manager
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "installs.db"), installstore.WithEncryptionKey(key))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	err = st.Save(ctx, installstore.Installation{TeamID: "T024BE7LH", BotToken: "xoxb-1"})
	fmt.Println(err)
	inst, err := st.Find(ctx, installstore.Key{TeamID: "T024BE7LH"})
	fmt.Println(inst.BotToken, err)
	// Output:
	// <nil>
	// xoxb-1 <nil>
}
