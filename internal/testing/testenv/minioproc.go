package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// MinIOProcess is a MinIO server of the test's own, for tests that stop or
// kill a server mid-run (the shared one from StartCommand must stay up).
type MinIOProcess struct {
	S3
	cmd *exec.Cmd
}

// minioBinary is where scripts/test-services.sh installs MinIO.
func minioBinary() string {
	if p := os.Getenv("CIVICPORT_MINIO_BIN"); p != "" {
		return p
	}
	return Binary("minio")
}

// Binary is the path where scripts/test-services.sh installs the server
// binary name (under $CIVICPORT_CACHE/bin, by default
// ~/.cache/civicport-test-services/bin); it may not exist.
func Binary(name string) string {
	cache := os.Getenv("CIVICPORT_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "civicport-test-services")
	}
	return filepath.Join(cache, "bin", name)
}

// StartMinIO starts a private MinIO server on a free 127.0.0.1 port with its
// data in a temporary directory, waits until it is ready, and stops it when
// t ends. It skips t (or fails it when services are required) if the MinIO
// binary is not installed.
func StartMinIO(t testing.TB) *MinIOProcess {
	t.Helper()
	bin := minioBinary()
	if _, err := os.Stat(bin); err != nil {
		unavailable(t, "MinIO binary", bin, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "server", t.TempDir(), "--address", addr, "--console-address", "127.0.0.1:0", "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+DefaultAccessKey, "MINIO_ROOT_PASSWORD="+DefaultSecretKey,
		"MINIO_UPDATE=off", "MINIO_BROWSER=off")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &MinIOProcess{S3: S3{Name: "minio", Host: addr, AccessKey: DefaultAccessKey, SecretKey: DefaultSecretKey, Region: DefaultRegion}, cmd: cmd}
	t.Cleanup(p.Kill)
	c := http.Client{Timeout: time.Second}
	for i := 0; ; i++ {
		resp, err := c.Get("http://" + addr + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 300 {
			t.Fatalf("private MinIO on %s not ready after 30s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ensureAWSEnv()
	return p
}

// Kill stops the server at once (SIGKILL), as a crash or a pulled cable
// would. It is safe to call more than once.
func (p *MinIOProcess) Kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

func (p *MinIOProcess) String() string { return fmt.Sprintf("private MinIO on %s", p.Host) }

// Freeze stops the server process (SIGSTOP): connections stay open and
// nothing answers, as with a hung host or a partition. Thaw undoes it.
func (p *MinIOProcess) Freeze() { _ = p.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (p *MinIOProcess) Thaw() { _ = p.cmd.Process.Signal(syscall.SIGCONT) }
