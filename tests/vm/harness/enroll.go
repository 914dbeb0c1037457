package harness

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/enroll"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbkeys"
)

// Enrolling our own Secure Boot keys: boot the Secure Boot capable OVMF in
// setup mode (FirmwareSetupMode) with an unsigned UKI whose initrd writes
// db, KEK and PK through efivarfs, the way `sbctl enroll-keys` does from a
// running system, and keep the variable store. Debian 12 has no host-side
// tool that writes keys into an OVMF variable store (virt-fw-vars from
// python3-virt-firmware is not packaged), hence the boot.

// KeyPair is a private key and its certificate.
type KeyPair struct {
	Key  crypto.Signer
	Cert *x509.Certificate
}

// OwnerKeys are the keys to enroll: db gets DB, KEK and PK their key's
// certificate. Owner is the SignatureOwner of every entry.
type OwnerKeys struct {
	PK, KEK KeyPair
	DB      []*x509.Certificate
	Owner   efivar.GUID
}

// VarWrite is one write through efivarfs.
type VarWrite struct {
	Label    string // for reports, e.g. "db"
	Variable efivar.Variable
	Content  []byte // attributes then data, from Variable.EfivarfsContent
	// Optional writes may be refused; Enroll reports them in
	// EnrollResult.Refused instead of failing.
	Optional bool
}

// CertWrite returns an authenticated write setting v to a signature list
// per certificate, signed by signer at time ts.
func CertWrite(label string, v efivar.Variable, signer KeyPair, owner efivar.GUID, ts time.Time, certs ...*x509.Certificate) (VarWrite, error) {
	if len(certs) == 0 {
		return VarWrite{}, fmt.Errorf("%s: no certificates", label)
	}
	var lists []efivar.SignatureList
	for _, c := range certs {
		lists = append(lists, efivar.X509List(owner, c.Raw))
	}
	data, err := efivar.MarshalSignatureLists(lists...)
	if err != nil {
		return VarWrite{}, fmt.Errorf("%s: %w", label, err)
	}
	auth, err := efivar.Sign(v, data, ts, signer.Key, signer.Cert)
	if err != nil {
		return VarWrite{}, fmt.Errorf("%s: %w", label, err)
	}
	return VarWrite{Label: label, Variable: v, Content: v.EfivarfsContent(auth)}, nil
}

// OwnerKeyWrites returns the writes that enroll k as the product does
// (pkg/enroll, which `nix-uki keys enroll` uses): db, then KEK, then PK,
// whose write leaves setup mode, each signed as in user mode (db by KEK,
// KEK by PK, PK by itself) so the same writes would also be accepted by
// firmware that checks them in setup mode. ts is the writes' timestamp.
//
// Each variable is written once: efivarfs marks the file of an existing
// db, KEK or PK immutable, and busybox has no chattr to lift that, so an
// append from the same boot fails in open(2) before reaching the firmware.
func OwnerKeyWrites(k OwnerKeys, ts time.Time) ([]VarWrite, error) {
	if len(k.DB) == 0 {
		return nil, fmt.Errorf("db: no certificates")
	}
	set := &sbkeys.KeySet{
		Owner: k.Owner,
		PK:    sbkeys.Pair{Key: k.PK.Key, Cert: k.PK.Cert},
		KEK:   sbkeys.Pair{Key: k.KEK.Key, Cert: k.KEK.Cert},
		DB:    sbkeys.Pair{Cert: k.DB[0]},
	}
	plan, err := enroll.Plan(set, enroll.PlanOptions{ExtraDB: k.DB[1:], Time: ts})
	if err != nil {
		return nil, err
	}
	if err := enroll.Sign(plan, set); err != nil {
		return nil, err
	}
	writes := make([]VarWrite, len(plan))
	for i, w := range plan {
		writes[i] = VarWrite{Label: w.Variable.Name, Variable: w.Variable, Content: w.Variable.EfivarfsContent(w.Auth)}
	}
	return writes, nil
}

// EnrollBoot says what to boot to enroll keys.
type EnrollBoot struct {
	Stub, Linux string // systemd-stub and kernel for the enrolling UKI
	ModulesDir  string // the kernel's modules (efivarfs is a module in Debian)
	// VarsFile receives the variable store: a copy of FirmwareSetupMode's
	// empty store, with the keys in it once Enroll returns.
	VarsFile    string
	Timeout     time.Duration
	ConsoleCopy func([]byte)
}

// EnrollResult is what the enrolling guest reported.
type EnrollResult struct {
	// Refused holds the labels of optional writes the firmware refused,
	// with the error the guest saw.
	Refused map[string]string
	// SetupMode and SecureBoot as read back after the writes: SetupMode is
	// 0 once PK is enrolled; SecureBoot turns 1 only from the next boot.
	SetupMode, SecureBoot int
	Console               string
}

var (
	enrollLineRE = regexp.MustCompile(`^enroll: (accepted|refused) ([0-9]+)(?:: (.*))?$`)
	efivarsRE    = regexp.MustCompile(`^efivars: SecureBoot=([0-9]+|none) SetupMode=([0-9]+|none)$`)
)

// FirmwareOwnKeys is the Secure Boot build of OVMF with a variable store
// holding enrolled keys (from Enroll): Secure Boot enforced with our db.
// Each VM gets its own copy of vars.
func FirmwareOwnKeys(vars string) Firmware {
	return Firmware{
		Name:   "ovmf-own-keys",
		Code:   FirmwareSetupMode.Code,
		Vars:   vars,
		Secure: true,
	}
}

// Enroll boots FirmwareSetupMode on b.VarsFile with an unsigned UKI whose
// initrd makes the writes in order. It fails if a write that is not
// optional is refused, or if PK was written and the firmware is still in
// setup mode after.
func Enroll(ctx context.Context, b EnrollBoot, writes []VarWrite) (EnrollResult, error) {
	res := EnrollResult{Refused: map[string]string{}}
	wrotePK := false
	work, err := os.MkdirTemp("", "nbs-enroll-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(work)
	if err := copyFile(b.VarsFile, FirmwareSetupMode.Vars); err != nil {
		return res, fmt.Errorf("copying %s: %w", FirmwareSetupMode.Vars, err)
	}

	files := []initrd.File{
		{Name: "bin/efivars", Data: []byte(EfivarsScript), Perm: 0o755},
		{Name: "bin/enroll", Data: []byte(enrollScript), Perm: 0o755},
	}
	for i, w := range writes {
		name := fmt.Sprintf("%02d-", i)
		if w.Optional {
			name += "opt-"
		}
		files = append(files, initrd.File{Name: "enroll.d/" + name + w.Variable.EfivarfsName(), Data: w.Content, Perm: 0o644})
	}
	ird := filepath.Join(work, "initrd.cpio")
	if err := initrd.WriteFile(ird, initrd.Spec{
		ModulesDir: b.ModulesDir,
		Modules:    []string{"efivarfs"},
		Run:        []string{"/bin/enroll"},
		Files:      files,
	}); err != nil {
		return res, err
	}
	osrel := filepath.Join(work, "os-release")
	if err := os.WriteFile(osrel, []byte("ID=nbs-enroll\n"), 0o644); err != nil {
		return res, err
	}
	uki := filepath.Join(work, "esp", "EFI", "BOOT", "BOOTX64.EFI")
	if err := os.MkdirAll(filepath.Dir(uki), 0o755); err != nil {
		return res, err
	}
	if err := ObjcopyUKI(UKIParts{Stub: b.Stub, Linux: b.Linux, Initrd: ird,
		Cmdline: "console=ttyS0 quiet panic=-1", OSRelease: osrel}, "", "", uki); err != nil {
		return res, err
	}

	cfg := Config{Firmware: FirmwareSetupMode, VarsFile: b.VarsFile, ESPDir: filepath.Join(work, "esp"), Timeout: b.Timeout}
	if b.ConsoleCopy != nil {
		cfg.ConsoleCopy = writerFunc(b.ConsoleCopy)
	}
	vm, err := Start(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer vm.Close()
	// The guest prints one line per write, then the variables, then the
	// exit status of the script.
	for range writes {
		line, err := vm.WaitFor(ctx, enrollLineRE)
		if err != nil {
			return res, err
		}
		m := enrollLineRE.FindStringSubmatch(line)
		i, _ := strconv.Atoi(m[2])
		if i >= len(writes) {
			return res, fmt.Errorf("guest reported write %d of %d", i, len(writes))
		}
		if m[1] == "refused" {
			if !writes[i].Optional {
				return res, vm.Console.failure(fmt.Errorf("firmware refused the %s write: %s", writes[i].Label, m[3]))
			}
			res.Refused[writes[i].Label] = m[3]
		} else if writes[i].Variable.Name == efivar.PK.Name && writes[i].Variable.GUID == efivar.PK.GUID {
			wrotePK = true
		}
	}
	line, err := vm.WaitFor(ctx, efivarsRE)
	if err != nil {
		return res, err
	}
	res.SecureBoot, res.SetupMode = parseEfivars(line)
	if line, err = vm.WaitFor(ctx, initrd.ExitStatusRE); err != nil {
		return res, err
	}
	if line != initrd.ExitStatusPrefix+"0" {
		return res, vm.Console.failure(fmt.Errorf("enrollment script: %s", line))
	}
	if err := vm.Wait(ctx); err != nil {
		return res, err
	}
	res.Console = vm.Console.Log()
	if wrotePK && res.SetupMode != 0 {
		return res, vm.Console.failure(fmt.Errorf("still in setup mode after enrolling PK (SetupMode=%d)", res.SetupMode))
	}
	return res, nil
}

// ParseEfivarsLine reads the line EfivarsScript prints; -1 stands for a
// variable that does not exist. ok is false for another line.
func ParseEfivarsLine(line string) (secureBoot, setupMode int, ok bool) {
	if !efivarsRE.MatchString(line) {
		return 0, 0, false
	}
	sb, sm := parseEfivars(line)
	return sb, sm, true
}

// EfivarsRE matches the line EfivarsScript prints.
var EfivarsRE = efivarsRE

func parseEfivars(line string) (secureBoot, setupMode int) {
	m := efivarsRE.FindStringSubmatch(line)
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			return -1
		}
		return n
	}
	return num(m[1]), num(m[2])
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
