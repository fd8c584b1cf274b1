package main

import "testing"

// The demo runs to its end: the OAuth install, events over both transports, refreshes and the
// uninstall, with no event lost and no reply failed.
func TestDemoInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 10 s")
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
