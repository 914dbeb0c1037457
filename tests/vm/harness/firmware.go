package harness

// Firmware is an OVMF build: a read-only code image and the variable store
// template a VM gets a private copy of.
type Firmware struct {
	Name string
	Code string
	Vars string
	// Secure puts the variable store behind SMM (q35,smm=on and secure
	// pflash), which the Secure Boot builds need so that the guest OS
	// cannot rewrite the keys.
	Secure bool
}

// OVMF builds shipped by Debian's ovmf package (4 MiB variants).
var (
	// FirmwareSecureBoot enforces Secure Boot with Debian's snakeoil keys
	// (PK, KEK and db all PkKek-1-snakeoil; see SnakeoilKey).
	FirmwareSecureBoot = Firmware{
		Name:   "ovmf-snakeoil",
		Code:   "/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd",
		Vars:   "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd",
		Secure: true,
	}
	// FirmwareMicrosoft enforces Secure Boot with Microsoft's keys.
	FirmwareMicrosoft = Firmware{
		Name:   "ovmf-ms",
		Code:   "/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
		Vars:   "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
		Secure: true,
	}
	// FirmwareSetupMode is the Secure Boot capable build with an empty
	// variable store: no keys, setup mode, anything boots, and keys can
	// be enrolled from the guest (use Config.VarsFile to keep them).
	FirmwareSetupMode = Firmware{
		Name:   "ovmf-secboot-setup-mode",
		Code:   "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
		Vars:   "/usr/share/OVMF/OVMF_VARS_4M.fd",
		Secure: true,
	}
	// FirmwarePlain is OVMF without Secure Boot enforcement.
	FirmwarePlain = Firmware{
		Name: "ovmf-plain",
		Code: "/usr/share/OVMF/OVMF_CODE_4M.fd",
		Vars: "/usr/share/OVMF/OVMF_VARS_4M.fd",
	}
)

// Snakeoil key material: the db certificate of FirmwareSecureBoot and its
// private key, encrypted with the passphrase "snakeoil".
const (
	SnakeoilCert          = "/usr/share/ovmf/PkKek-1-snakeoil.pem"
	SnakeoilEncryptedKey  = "/usr/share/ovmf/PkKek-1-snakeoil.key"
	snakeoilPassphrase    = "snakeoil"
	secureBootRefusalText = "Access Denied"
)
