package swtpm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/nix-boot-security/nix-boot-security/pkg/tpm"
)

// headerSize is the size of a TPM 2.0 command or response header: tag
// (u16), size (u32), code (u32).
const headerSize = 10

// ErrShortResponse is returned for a response that ends inside its header
// or before the size its header announces.
var ErrShortResponse = errors.New("truncated TPM response")

// conn is a transport.TPMCloser over one stream connection that carries raw
// TPM command and response buffers. One command is in flight at a time.
type conn struct {
	mu      sync.Mutex
	c       net.Conn
	timeout time.Duration
}

// Dial connects to a raw-TPM Unix socket, such as swtpm's --server
// type=unixio socket. swtpm serves one client at a time: close the
// connection before another program (systemd-measure, QEMU) uses the
// emulator.
func Dial(path string) (transport.TPMCloser, error) {
	return dial("unix", path)
}

// DialTCP connects to a raw-TPM TCP server, such as swtpm's --server
// type=tcp data port (with --flags not-need-init).
func DialTCP(addr string) (transport.TPMCloser, error) {
	return dial("tcp", addr)
}

func dial(network, addr string) (transport.TPMCloser, error) {
	c, err := net.DialTimeout(network, addr, time.Minute)
	if err != nil {
		return nil, fmt.Errorf("connecting to TPM socket %s: %w", addr, err)
	}
	return &conn{c: c, timeout: time.Minute}, nil
}

// Send writes one command and reads its whole response.
func (t *conn) Send(cmd []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timeout > 0 {
		// A stuck emulator must fail the caller, not hang it.
		if err := t.c.SetDeadline(time.Now().Add(t.timeout)); err != nil {
			return nil, fmt.Errorf("TPM socket: %w", err)
		}
	}
	if _, err := t.c.Write(cmd); err != nil {
		return nil, fmt.Errorf("sending TPM command: %w", err)
	}
	return readResponse(t.c)
}

// Close closes the connection.
func (t *conn) Close() error { return t.c.Close() }

// readResponse reads one framed TPM response from r.
func readResponse(r io.Reader) ([]byte, error) {
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading TPM response header: %w", ErrShortResponse)
		}
		return nil, fmt.Errorf("reading TPM response header: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < headerSize || size > tpm.MaxResponse {
		return nil, fmt.Errorf("TPM response announces %d bytes (want %d..%d)", size, headerSize, tpm.MaxResponse)
	}
	rsp := make([]byte, size)
	copy(rsp, hdr)
	if _, err := io.ReadFull(r, rsp[headerSize:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading TPM response body: %w", ErrShortResponse)
		}
		return nil, fmt.Errorf("reading TPM response body: %w", err)
	}
	return rsp, nil
}
