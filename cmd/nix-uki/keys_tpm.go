package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpmkey"
)

var keysTPMCommands = []cli.Command{
	{Name: "create", Summary: "create a signing key inside the TPM and write its key blob", Run: runKeysTPMCreate},
}

func runKeysTPMCreate(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "keys tpm create", "--output KEY.tpmkey [--algorithm rsa2048|ecdsa-p256] [--device DEV | --swtpm SOCKET] [--persist HANDLE]",
		`Create a signing key inside a TPM 2.0, under the storage root key the
owner hierarchy derives from the TCG reference ECC P-256 template, and write
its key blob (PEM "TSS2 PRIVATE KEY": the TPM's public and encrypted private
areas; only this TPM can use it). The private key never leaves the TPM in
the clear. On stdout: the reference to pass as a key (tpm:blob=PATH, plus
?device= or ?swtpm= when not the default /dev/tpmrm0); with --persist also
the persistent handle's reference. RSA 2048 keys sign Authenticode and
.pcrsig; ECDSA P-256 keys sign Authenticode (not accepted by OVMF's db) and
certificates.`)
	output := fs.String("output", "", "write the key blob to `PATH` (mode 0600)")
	alg := fs.String("algorithm", string(tpmkey.RSA2048), "key `ALGORITHM`: rsa2048 or ecdsa-p256")
	device := fs.String("device", "", "TPM character device `PATH` (default "+signer.DefaultTPMDevice+")")
	swtpmSock := fs.String("swtpm", "", "a swtpm data socket `PATH`, or HOST:PORT")
	persist := fs.String("persist", "", "also make the key persistent at `HANDLE` (0x81000000 to 0x81FFFFFF)")
	pubOut := fs.String("public-key", "", "also write the public key (PEM) to `PATH`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("keys tpm create: unexpected argument %q", fs.Arg(0))
	}
	if *output == "" {
		return cli.Usagef("keys tpm create: --output is required")
	}
	if *device != "" && *swtpmSock != "" {
		return cli.Usagef("keys tpm create: give at most one of --device and --swtpm")
	}
	var handle uint64
	if *persist != "" {
		h, err := strconv.ParseUint(*persist, 0, 32)
		if err != nil || h < 0x81000000 || h > 0x81FFFFFF {
			return cli.Usagef("--persist %q: not a persistent handle (0x81000000 to 0x81FFFFFF)", *persist)
		}
		handle = h
	}
	abs, err := filepath.Abs(*output)
	if err != nil {
		return cli.Usage(err)
	}
	ref := &signer.TPMRef{Blob: abs, Device: *device, Swtpm: *swtpmSock}
	tpm, err := signer.OpenTPM(ref)
	if err != nil {
		return cli.Usage(err)
	}
	defer tpm.Close()
	blob, err := tpmkey.Create(tpm, tpmkey.Algorithm(*alg))
	if err != nil {
		return cli.Usage(err)
	}
	data, err := blob.Marshal()
	if err != nil {
		return err
	}
	if *pubOut != "" {
		pub, err := blob.PublicKey()
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*pubOut, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
			return cli.Usage(err)
		}
	}
	if err := atomicfile.WriteFile(abs, data, 0o600); err != nil {
		return cli.Usage(err)
	}
	fmt.Fprintln(env.Stdout, ref)
	if handle != 0 {
		if err := tpmkey.Persist(tpm, blob, uint32(handle)); err != nil {
			return cli.Usage(err)
		}
		fmt.Fprintln(env.Stdout, &signer.TPMRef{Handle: uint32(handle), Device: *device, Swtpm: *swtpmSock})
	}
	return nil
}
