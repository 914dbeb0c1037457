# The test machine's configuration once its keys exist: signed, and the
# manifests from Nix's database as a running system has it.
{ lib, ... }:
{
  boot.verifiedBoot = {
    secureBoot = {
      privateKey = "/var/lib/nix-boot-security/keys/db/db.key";
      certificate = "/var/lib/nix-boot-security/keys/db/db.pem";
      allowUnsigned = lib.mkForce false;
    };
    closureCheck.manifestFrom = lib.mkForce "db";
  };
}
