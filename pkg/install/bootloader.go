package install

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// loaderSystemdBoot is the loader name systemd-boot writes in .sdmagic.
const loaderSystemdBoot = "systemd-boot"

// bootLoader is systemd-boot, read once (it is about 100 KiB).
type bootLoader struct {
	info  uki.StubInfo
	image []byte
}

// loadBootLoader reads systemd-boot and checks that it is.
func loadBootLoader(path string) (*bootLoader, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	info, err := imageInfo(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if info.Loader != loaderSystemdBoot {
		return nil, fmt.Errorf("%s is %s, not systemd-boot", path, info)
	}
	return &bootLoader{info: info, image: src}, nil
}

func imageInfo(img []byte) (uki.StubInfo, error) {
	f, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		return uki.StubInfo{}, err
	}
	return uki.ReadStubInfo(f)
}

// want is systemd-boot's file at path, signed as it is written when
// signing. An installed copy is intact when it is the same systemd-boot
// (version) and its signature verifies with our certificate (covering every
// byte the firmware hashes), so a signature that is not reproducible byte
// for byte does not make every run rewrite it. Unsigned, it must be the
// same bytes.
func (b *bootLoader) want(path string, signer *authenticode.Signer) esp.Want {
	w := esp.Want{Path: path, Required: true}
	if signer == nil {
		w.Content = b.image
		return w
	}
	w.Size = int64(len(b.image)) + signatureRoom
	w.Write = func(out esp.File) error {
		f, err := pe.NewFile(bytes.NewReader(b.image), int64(len(b.image)))
		if err != nil {
			return err
		}
		return authenticode.SignImage(out, f, signer, false)
	}
	w.Check = func(r esp.ReadFile, size int64) error {
		f, err := pe.NewFile(r, size)
		if err != nil {
			return err
		}
		info, err := uki.ReadStubInfo(f)
		if err != nil {
			return err
		}
		if info != b.info {
			return fmt.Errorf("%s installed, %s wanted", info, b.info)
		}
		if _, err := authenticode.VerifyImage(f, []*x509.Certificate{signer.Chain[0]}, authenticode.Options{}); err != nil {
			return fmt.Errorf("signature: %w", err)
		}
		return nil
	}
	return w
}

// foreignFallback reports whether the partition's EFI/BOOT/BOOTX64.EFI is
// another boot loader's (not systemd-boot), which is left alone.
func foreignFallback(f esp.FS) bool {
	fi, err := f.Stat(esp.FallbackPath)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil || !fi.Mode().IsRegular() {
		return true
	}
	r, err := f.Open(esp.FallbackPath)
	if err != nil {
		return true
	}
	defer r.Close()
	pf, err := pe.NewFile(r, fi.Size())
	if err != nil {
		return true
	}
	info, err := uki.ReadStubInfo(pf)
	return err != nil || info.Loader != loaderSystemdBoot
}
