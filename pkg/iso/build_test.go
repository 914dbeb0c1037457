package iso

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

const (
	debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	debianShim = "/usr/lib/shim/shimx64.efi.signed"
)

type isoFixture struct {
	stub      []byte
	id        *testcert.Identity
	closure   *nixtest.Fixture
	shimBytes []byte
}

func newISOFixture(t *testing.T) *isoFixture {
	for _, tool := range []string{"mksquashfs", "mkfs.vfat", "mmd", "mcopy", "xorriso"} {
		peer.Tool(t, tool)
	}
	return &isoFixture{
		stub:      peer.File(t, debianStub),
		shimBytes: peer.File(t, debianShim),
		id:        testcert.New(t, testcert.Template{Name: "iso test"}),
		closure:   nixtest.Build(t),
	}
}

// build copies every input into a fresh directory (fresh names and
// modification times), builds the ISO there and returns its path.
func (f *isoFixture) build(t *testing.T, epoch int64) (string, *Result) {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kernel := write("bzImage", bytes.Repeat([]byte("kernel "), 1000))
	initrd := write("initrd", []byte("initrd"))
	reg := write("registration", []byte(f.closure.Registration))
	shim := write("shimx64.efi", f.shimBytes)
	out := filepath.Join(dir, "out", "nixos.iso")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), Options{
		UKI: ukibuild.Inputs{Stub: f.stub, Linux: kernel, Initrds: []string{initrd}, Cmdline: []byte("console=ttyS0"),
			OSRelease: []byte("ID=nixos\n"), SigningKey: f.id.Key, Certificates: []*x509.Certificate{f.id.Cert}},
		ClosureInfo: reg, Shim: shim, Label: "NIXOS_TEST", Epoch: epoch, Output: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "out", ".*")); len(left) != 0 {
		t.Errorf("scratch files left beside the output: %v", left)
	}
	return out, res
}

// The same inputs give the same ISO bytes, built in other directories at
// other times; another SOURCE_DATE_EPOCH gives other bytes.
func TestReproducible(t *testing.T) {
	f := newISOFixture(t)
	a, ra := f.build(t, 1700000000)
	time.Sleep(1100 * time.Millisecond) // a second later: any clock date would show
	b, rb := f.build(t, 1700000000)
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatalf("two builds of the same inputs differ (%d and %d bytes)", len(da), len(db))
	}
	if ra.Medium != rb.Medium || !bytes.Equal(ra.RootHash, rb.RootHash) {
		t.Errorf("results differ: %+v, %+v", ra, rb)
	}
	c, _ := f.build(t, 1700000001)
	if dc, _ := os.ReadFile(c); bytes.Equal(da, dc) {
		t.Error("another SOURCE_DATE_EPOCH gave the same bytes: the dates are not taken from it")
	}
}

// What the ISO holds, read back by the peers: blkid's label and UUID, the
// file tree (xorriso), the EFI boot image's files (mtools), the store
// image's paths (unsquashfs) and its tree (veritysetup verify with the
// root hash on the UKI's command line).
func TestISOContents(t *testing.T) {
	f := newISOFixture(t)
	out, res := f.build(t, DefaultEpoch)
	dir := t.TempDir()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(peer.Tool(t, name), args...)
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	if got := run("blkid", "-o", "export", out); !strings.Contains(got, "LABEL=NIXOS_TEST\n") || !strings.Contains(got, "UUID="+res.Medium.UUID+"\n") {
		t.Errorf("blkid:\n%s\nwant label NIXOS_TEST, UUID %s", got, res.Medium.UUID)
	}
	ext := filepath.Join(dir, "x")
	run("xorriso", "-osirrox", "on", "-indev", out, "-extract", "/", ext)
	var names []string
	filepath.Walk(ext, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(ext, p)
			names = append(names, rel)
		}
		return nil
	})
	if got := strings.Join(names, " "); got != "boot/efiboot.img boot.catalog nix-store.squashfs nix-store.squashfs.verity" {
		t.Errorf("ISO files: %s", got)
	}
	efi := filepath.Join(ext, EFIBootImage)
	if got := run("mdir", "-b", "-i", efi, "::/EFI/BOOT"); got != "::/EFI/BOOT/BOOTX64.EFI\n::/EFI/BOOT/grubx64.efi\n" {
		t.Errorf("EFI/BOOT holds:\n%s", got)
	}
	shim := filepath.Join(dir, "shim")
	run("mcopy", "-i", efi, "::/EFI/BOOT/BOOTX64.EFI", shim)
	if b, _ := os.ReadFile(shim); !bytes.Equal(b, f.shimBytes) {
		t.Error("BOOTX64.EFI is not shim")
	}
	// grubx64.efi is the UKI: signed by our key, carrying the medium's
	// words on its command line and the SBAT lines shim-review expects.
	ukiPath := filepath.Join(dir, "grubx64.efi")
	run("mcopy", "-i", efi, "::/EFI/BOOT/grubx64.efi", ukiPath)
	run("sbverify", "--cert", f.id.CertPath, ukiPath)
	ukiBytes, _ := os.ReadFile(ukiPath)
	pf, err := pe.NewFile(bytes.NewReader(ukiBytes), int64(len(ukiBytes)))
	if err != nil {
		t.Fatal(err)
	}
	info, err := uki.Inspect(pf)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cmdline != res.Cmdline {
		t.Errorf("UKI command line %q, want %q", info.Cmdline, res.Cmdline)
	}
	for _, want := range []string{"\nsystemd-stub,1,", "\nsystemd-stub.nixos,1,NixOS,", "\nuki,1,", "\nuki.nixos,1,NixOS,uki,1,https://nixos.org/"} {
		if !strings.Contains(info.SBAT, want) {
			t.Errorf("UKI's SBAT lacks %q:\n%s", want, info.SBAT)
		}
	}
	listing := run("unsquashfs", "-lc", "-d", "", filepath.Join(ext, "nix-store.squashfs"))
	for _, p := range f.closure.Closure {
		if !strings.Contains(listing, "/"+filepath.Base(p)+"/") && !strings.Contains(listing, "/"+filepath.Base(p)+"\n") {
			t.Errorf("store image lacks %s:\n%s", p, listing)
		}
	}
	if !strings.Contains(res.Cmdline, "nix-closure-verify.root-hash="+hex.EncodeToString(res.RootHash)) {
		t.Errorf("command line %q lacks the root hash", res.Cmdline)
	}
	run("veritysetup", "verify", filepath.Join(ext, "nix-store.squashfs"), filepath.Join(ext, "nix-store.squashfs.verity"), hex.EncodeToString(res.RootHash))
}
