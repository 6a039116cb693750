package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/voicesim/voicesim/pipeline/atomicfile"
)

// TestWriteBytesReplacesWhole: files are replaced whole; a failed write
// leaves the previous file intact.
func TestWriteBytesReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.json")
	if err := atomicfile.WriteBytes(p, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "missing", "report.json"), []byte("x")); err == nil {
		t.Error("write into a missing folder succeeded")
	}
	if err := atomicfile.WriteBytes(p, []byte("second")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	entries, _ := os.ReadDir(dir)
	if string(b) != "second" || len(entries) != 1 {
		t.Errorf("file %q, %d entries in the folder; want the new content and no temp files", b, len(entries))
	}
}

// TestWriteBytesMode: files get the mode os.WriteFile would give, not the
// temporary file's 0600, so reports are readable by others.
func TestWriteBytesMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.json")
	if err := atomicfile.WriteBytes(p, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v); want -rw-r--r--", st.Mode().Perm(), err)
	}
}
