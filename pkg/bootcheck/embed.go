package bootcheck

import (
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
)

// InitrdArchive is the build side of the boot check. Given a closure
// manifest and the command line about to be signed, it returns the cpio
// archive to append to the UKI's initrd, holding the manifest and the
// settings file, and the digest parameter to append to the command line
// (with kcmdline.Append). The settings are our parameters on that command
// line, checked as the boot check would check them, plus the manifest's
// digest; at boot they, not the command line, decide what is checked. A
// malformed parameter, a digest given by hand, or a manifest= naming
// another file than the one embedded is refused.
func InitrdArchive(manifest []byte, cmdline string) (archive []byte, param kcmdline.Param, err error) {
	v, _, err := CmdlineValues(cmdline)
	if err != nil {
		return nil, param, fmt.Errorf("command line: %w", err)
	}
	if _, ok := v["digest"]; ok {
		return nil, param, fmt.Errorf("%w %s", kcmdline.ErrHasParam, closure.DigestParam)
	}
	if m, ok := v["manifest"]; ok && m != DefaultManifest {
		return nil, param, fmt.Errorf("command line: %s.manifest=%s: %w: the embedded manifest is %s", Prefix, m, ErrInconsistent, DefaultManifest)
	}
	v["digest"] = closure.DigestOf(manifest).String()
	settings, err := MarshalSettings(v)
	if err != nil {
		return nil, param, fmt.Errorf("command line: %w", err)
	}
	return closure.InitrdArchive(manifest, settings)
}
