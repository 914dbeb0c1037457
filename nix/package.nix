# The Go tools, built with nixpkgs' buildGoModule (Go 1.26: go.mod asks for
# 1.26.8 and nixpkgs' Go never fetches another toolchain).
#
#   pkgs.callPackage ./nix/package.nix { version = "1.2.0"; }
#
# nix-closure-verify is linked static (CGO_ENABLED=0): it runs in the initrd
# with no libc beside it. nix-uki keeps the platform's default, so a PKCS#11
# module (a C library) can be loaded when the signer needs one.
#
# vendorHash is the NAR hash of what `go mod vendor` writes; the test
# TestVendorHash (nix/vendorhash_test.go) recomputes it with the machine's Nix
# and names the value to put here when go.mod or go.sum change.
{
  lib,
  buildGo126Module,
  version ? "0.0.0-dev",
}:

buildGo126Module {
  pname = "nix-boot-security";
  inherit version;

  # Only what the build reads: a change to the README, the tests' data or
  # the Nix files does not rebuild the tools.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../go.mod
      ../go.sum
      (lib.fileset.fileFilter (f: f.hasExt "go" && !lib.hasSuffix "_test.go" f.name) ../cmd)
      (lib.fileset.fileFilter (f: f.hasExt "go" && !lib.hasSuffix "_test.go" f.name) ../pkg)
      (lib.fileset.fileFilter (f: f.hasExt "go" && !lib.hasSuffix "_test.go" f.name) ../internal)
    ];
  };

  vendorHash = "sha256-0V0/oLF1UF35ckcCGuuWq4SXe4cE/QE6vqZoPYoOkFI=";

  subPackages = [ "cmd/nix-uki" ];

  ldflags = [
    "-s"
    "-w"
    "-X github.com/nix-boot-security/nix-boot-security/pkg/cli.version=${version}"
  ];

  # The boot check, static, with the same flags (GOFLAGS carries -mod=vendor
  # and -trimpath; ldflags may be a string or, with structured attributes,
  # an array); buildGoModule puts $GOPATH/bin into $out/bin.
  postBuild = ''
    CGO_ENABLED=0 go build -ldflags "''${ldflags[*]}" \
      -o "$GOPATH/bin/nix-closure-verify" ./cmd/nix-closure-verify
  '';

  # The tests compare against real peers (Nix, osslsigncode, QEMU and OVMF
  # for the VM tests) that the sandbox does not have; they run through
  # scripts/test, and the flake's checks boot NixOS with the module.
  doCheck = false;

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    $out/bin/nix-uki --version
    $out/bin/nix-closure-verify --version
    # The initrd has no dynamic loader for it: it must stay static.
    if grep -q 'ld-linux' $out/bin/nix-closure-verify; then
      echo "nix-closure-verify is dynamically linked" >&2
      exit 1
    fi
    runHook postInstallCheck
  '';

  meta = {
    description = "Verifiable NixOS boot chain: signed UKIs with closure manifests, store checks at boot, dm-verity store images";
    homepage = "https://github.com/nix-boot-security/nix-boot-security";
    # No licence is declared yet (the repository has no licence file); set
    # meta.license here when one is chosen.
    mainProgram = "nix-uki";
    platforms = lib.platforms.linux;
  };
}
