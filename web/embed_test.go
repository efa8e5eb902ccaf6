package web

import (
	"io/fs"
	"os"
	"testing"
)

func TestAssetsIsTheDistFolder(t *testing.T) {
	// .keep is always embedded, built or not, and sits at the root of the
	// subtree that Assets returns.
	if _, err := fs.Stat(Assets(), ".keep"); err != nil {
		t.Fatalf("Assets lacks .keep: %v", err)
	}
	if _, err := fs.Stat(Assets(), "dist"); err == nil {
		t.Fatal("Assets is rooted above dist")
	}
}

func TestBuiltMatchesIndexHTML(t *testing.T) {
	// The embedded files are those on disk at compile time, which are
	// the ones this test sees in the package folder.
	_, err := os.Stat("dist/index.html")
	if onDisk := err == nil; Built() != onDisk {
		t.Fatalf("Built() = %v, but dist/index.html on disk: %v", Built(), onDisk)
	}
	if Built() {
		if _, err := fs.ReadFile(Assets(), "index.html"); err != nil {
			t.Fatalf("reading index.html: %v", err)
		}
	}
}
