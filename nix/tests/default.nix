# NixOS VM tests of the module, in nixpkgs' runNixOSTest style, one per
# behaviour a user relies on. They need nixpkgs (the flake's checks run
# them: `nix flake check`, or `nix build .#checks.x86_64-linux.secure-boot`);
# the machines these tools are developed on have only nixpkgs' lib, so
# there the Go tests evaluate the module instead (nix/module_test.go).
#
#   import ./nix/tests { pkgs = <nixpkgs for x86_64-linux>; module = <the flake's nixosModules.default>; }
#
# Each file gives a description of its machine (a NixOS module added to
# common.nix) and its test script (run after helpers.py).
{ pkgs, module }:
let
  test =
    name: file:
    let
      t = import file;
    in
    pkgs.testers.runNixOSTest {
      name = "nix-boot-security-${name}";
      nodes.machine = {
        imports = [
          module
          ./common.nix
          t.machine
        ];
      };
      testScript = builtins.readFile ./helpers.py + t.testScript;
    };
in
{
  secure-boot = test "secure-boot" ./secure-boot.nix;
  tampered-store = test "tampered-store" ./tampered-store.nix;
  rollback = test "rollback" ./rollback.nix;
  specialisation = test "specialisation" ./specialisation.nix;
  measured-boot = test "measured-boot" ./measured-boot.nix;
}
