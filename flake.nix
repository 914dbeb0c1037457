{
  description = "Verifiable NixOS boot chain: signed UKIs carrying closure manifests, the store checked at boot, dm-verity store images";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # The flake's revision; a build from a dirty tree says so.
      version = "0.1.0+" + (self.shortRev or self.dirtyShortRev or "dirty");

      package = pkgs: pkgs.callPackage ./nix/package.nix { inherit version; };
    in
    {
      packages = forAllSystems (pkgs: {
        default = package pkgs;
        nix-boot-security = package pkgs;
      });

      overlays.default = final: _prev: { nix-boot-security = package final; };

      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          boot.verifiedBoot.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };

      # The NixOS VM tests boot OVMF with Secure Boot, which nixpkgs builds
      # for x86_64 only here.
      checks.x86_64-linux =
        let
          pkgs = nixpkgs.legacyPackages.x86_64-linux;
        in
        {
          package = self.packages.x86_64-linux.default;
        }
        // import ./nix/tests {
          inherit pkgs;
          module = self.nixosModules.default;
        };

      formatter = forAllSystems (pkgs: pkgs.nixfmt-tree);
    };
}
