# Measured boot: every UKI carries a PCR 11 policy signed with the PCR key
# (.pcrsig, .pcrpkey), and a LUKS volume bound to that key with
# systemd-cryptenroll unlocks from the TPM after booting a signed UKI, and
# keeps unlocking after an update (the policy is signed, not a PCR value).
{
  machine =
    { lib, pkgs, ... }:
    let
      measured.boot.verifiedBoot.measuredBoot = {
        enable = true;
        pcrPrivateKey = "/var/lib/nix-boot-security/pcr/pcr.key";
        pcrPublicKey = "/var/lib/nix-boot-security/pcr/pcr.pub.pem";
        phases = [
          "enter-initrd"
          "enter-initrd:leave-initrd"
          "enter-initrd:leave-initrd:sysinit"
          "enter-initrd:leave-initrd:sysinit:ready"
        ];
      };
    in
    {
      virtualisation.tpm.enable = true;
      environment.etc.generation.text = lib.mkDefault "1";
      specialisation.signed.configuration = measured;
      specialisation.signed-second.configuration = {
        imports = [
          ./signed.nix
          measured
        ];
        environment.etc.generation.text = "2";
      };
      environment.systemPackages = [ pkgs.cryptsetup ];
    };

  testScript = ''
    machine.start()
    boot_checked(machine)
    pcr = f"{KEYDIR}/pcr"
    machine.succeed(
        f"mkdir -p -m 700 {pcr}",
        f"openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out {pcr}/pcr.key",
        f"openssl pkey -in {pcr}/pcr.key -pubout -out {pcr}/pcr.pub.pem",
    )
    enroll_and_sign(machine)

    with subtest("the UKIs carry the signed policy"):
        uki = machine.succeed("ls /boot/EFI/Linux/nixos-generation-2-*.efi").split()[0]
        machine.succeed(f"nix-uki inspect --json {uki} | jq -e '.sections | map(.name) | index(\".pcrsig\")'")

    with subtest("a volume bound to the PCR key unlocks"):
        machine.succeed(
            "dd if=/dev/zero of=/var/lib/volume bs=1M count=32",
            "echo -n passphrase > /run/passphrase",
            "cryptsetup luksFormat --batch-mode --key-file /run/passphrase /var/lib/volume",
            "systemd-cryptenroll --unlock-key-file=/run/passphrase --tpm2-device=auto --tpm2-pcrs="
            f" --tpm2-public-key={pcr}/pcr.pub.pem --tpm2-public-key-pcrs=11 /var/lib/volume",
        )
        machine.succeed("systemd-cryptsetup attach volume /var/lib/volume - tpm2-device=auto,headless=true")
        machine.succeed("systemd-cryptsetup detach volume")

    with subtest("it still unlocks from the next generation's UKI"):
        switch_to(machine, "signed-second")
        machine.succeed("grep -qx 2 /etc/generation")
        machine.succeed("systemd-cryptsetup attach volume /var/lib/volume - tpm2-device=auto,headless=true")
  '';
}
