package views

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates every component into a scratch
// directory with the pinned templ (go.mod tool directive) and compares the
// result with the committed *_templ.go files, so a stale file fails CI.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the templ generator")
	}
	sources, err := filepath.Glob("*.templ")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no templ sources: %v", err)
	}
	// The scratch copy mirrors the module's layout, since the generated
	// code names each source by its path from the module root.
	root := t.TempDir()
	dir := filepath.Join(root, "views")
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile("../go.mod", filepath.Join(root, "go.mod"))
	copyFile("../go.sum", filepath.Join(root, "go.sum"))
	for _, src := range sources {
		copyFile(src, filepath.Join(dir, src))
	}
	cmd := exec.Command("go", "tool", "templ", "generate")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("templ generate: %v\n%s", err, out)
	}
	for _, src := range sources {
		gen := src[:len(src)-len(".templ")] + "_templ.go"
		want, err := os.ReadFile(filepath.Join(dir, gen))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatalf("%s has no committed %s: run make generate", src, gen)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run make generate and commit it", gen)
		}
	}
}
