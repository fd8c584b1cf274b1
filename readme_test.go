package switchboard_test

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// verbatim marks a fenced block of README.md that is a file of the repository, byte for byte:
//
//	<!-- verbatim: examples/bot/main.go -->
//	```go
//	…
//	```
var verbatim = regexp.MustCompile("(?s)<!-- verbatim: ([^ ]+) -->\n```[a-z]*\n(.*?)```\n")

// The README shows the bot of examples/bot as it is: a change to either that is not made to the
// other fails here. (examples/bot's own test builds and runs it against the stand-in.)
func TestREADMEVerbatim(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := verbatim.FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no <!-- verbatim: FILE --> block")
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		path, shown := string(b[1]), b[2]
		seen[path] = true
		file, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("README.md shows %s: %v", path, err)
			continue
		}
		if !bytes.Equal(shown, file) {
			t.Errorf("README.md's copy of %s differs from the file (first difference at line %d); paste the file into the README again", path, firstDiffLine(shown, file))
		}
	}
	if !seen["examples/bot/main.go"] {
		t.Error("README.md does not show examples/bot/main.go")
	}
}

// firstDiffLine returns the 1-based line of a and b where they first differ.
func firstDiffLine(a, b []byte) int {
	line := 1
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] == '\n' {
			line++
		}
	}
	return line
}
