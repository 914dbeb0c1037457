# Secure Boot with the module: the first install is unsigned, keys are
# created and enrolled from the running system, the next install signs
# systemd-boot and every UKI, and the machine boots with Secure Boot
# enforced, the store checked from the initrd.
{
  machine = { };

  testScript = ''
    machine.start()
    boot_checked(machine)
    machine.fail(SECURE_BOOT_ON)

    enroll_and_sign(machine)

    with subtest("every entry is a signed UKI with its closure manifest"):
        for uki in machine.succeed("ls /boot/EFI/Linux/nixos-generation-*.efi").split():
            machine.succeed(f"nix-uki verify --cert {DB_CERT} {uki}")
            machine.succeed(f"nix-uki inspect --json {uki} | jq -e '.cmdline | contains(\"nix-closure-verify.digest=sha256:\")'")

    with subtest("the editor is off and the newest generation is the default"):
        machine.succeed("grep -qx 'editor no' /boot/loader/loader.conf")
        machine.succeed("grep -q '^default ' /boot/loader/loader.conf")

    with subtest("a second install with nothing changed writes nothing"):
        before = machine.succeed("find /boot -type f -printf '%p %i %T@\\n' | sort")
        machine.succeed("/run/current-system/bin/switch-to-configuration boot")
        after = machine.succeed("find /boot -type f -printf '%p %i %T@\\n' | sort")
        assert before == after, f"the ESP changed:\n{before}\n{after}"
  '';
}
