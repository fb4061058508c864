package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type recordTB struct {
	testing.TB
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The check names a capability no test fails, and accepts both forms.
func TestRequireEveryCapabilityFails(t *testing.T) {
	f := filepath.Join(t.TempDir(), "faulty_test.go")
	require.NoError(t, os.WriteFile(f, []byte(`
	requireStatus(t, res, conformance.BlobReadWrite, conformance.Fail, "x")
	conformance.BlobLegalHold: fails("y"),
	requireStatus(t, res, conformance.BlobMD5, conformance.Pass)
`), 0o600))
	r := &recordTB{TB: t}
	RequireEveryCapabilityFails(r, []string{"blob.read_write", "blob.legal_hold", "blob.md5"}, f)
	require.Len(t, r.errs, 1, "%v", r.errs)
	assert.Contains(t, r.errs[0], "blob.md5 (conformance.BlobMD5): no broken backend")
}
