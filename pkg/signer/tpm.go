package signer

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"

	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpm/swtpm"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpmkey"
)

// OpenTPM connects to the TPM r names (its device, or its swtpm socket).
// The caller closes it.
func OpenTPM(r *TPMRef) (transport.TPMCloser, error) {
	switch {
	case r.Swtpm != "" && !strings.Contains(r.Swtpm, "/") && strings.Contains(r.Swtpm, ":"):
		return swtpm.DialTCP(r.Swtpm)
	case r.Swtpm != "":
		return swtpm.Dial(r.Swtpm)
	}
	dev := r.Device
	if dev == "" {
		dev = DefaultTPMDevice
	}
	t, err := linuxtpm.Open(dev)
	if err != nil {
		return nil, fmt.Errorf("opening TPM %s: %w", dev, err)
	}
	return t, nil
}

// ReadBlob reads a key blob file: a bounded regular file, opened without
// blocking on a FIFO. A blob holds no secret only this machine's TPM can
// use, but it is still refused under /nix/store, like any key.
func ReadBlob(path string) (*tpmkey.Blob, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading TPM key blob: %w", err)
	}
	defer f.Close()
	if err := keys.RefuseInStore(path, f); err != nil {
		return nil, fmt.Errorf("TPM key blob: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading TPM key blob: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("TPM key blob %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, tpmkey.MaxBlob+1))
	if err != nil {
		return nil, fmt.Errorf("reading TPM key blob: %w", err)
	}
	b, err := tpmkey.ParseBlob(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// tpmSigner closes its key and then its TPM connection.
type tpmSigner struct {
	*tpmkey.Signer
	desc string
	tpm  io.Closer
}

func (s *tpmSigner) Description() string { return s.desc }
func (s *tpmSigner) Warnings() []string  { return nil }
func (s *tpmSigner) Close() error {
	err := s.Signer.Close()
	if cerr := s.tpm.Close(); err == nil {
		err = cerr
	}
	return err
}

func openTPM(_ context.Context, r *TPMRef) (Signer, error) {
	var blob *tpmkey.Blob
	if r.Blob != "" {
		b, err := ReadBlob(r.Blob)
		if err != nil {
			return nil, err
		}
		blob = b
	}
	t, err := OpenTPM(r)
	if err != nil {
		return nil, err
	}
	var k *tpmkey.Signer
	if blob != nil {
		k, err = tpmkey.LoadBlob(t, blob)
	} else {
		k, err = tpmkey.OpenHandle(t, r.Handle)
	}
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	return &tpmSigner{Signer: k, desc: r.String(), tpm: t}, nil
}
