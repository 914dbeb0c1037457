# Steps shared by the VM tests (nix/tests/*.nix prepend this file to their
# test script). `machine` is the test driver's machine object.
import json

KEYS = "/var/lib/nix-boot-security/keys"
SECURE_BOOT_ON = "bootctl status 2>/dev/null | grep -q 'Secure Boot: enabled'"


def boot_checked(machine):
    """Boot (or wait for the boot in progress) and see the store check pass."""
    machine.wait_for_console_text("nix-closure-verify: store ok")
    machine.wait_for_unit("multi-user.target")


def enroll_and_sign(machine):
    """A user's first steps: create keys, enroll them while the firmware is
    in setup mode, reinstall so every entry is signed, reboot under Secure
    Boot."""
    machine.succeed(f"nix-uki keys create --dir {KEYS}")
    machine.succeed(f"nix-uki keys enroll --dir {KEYS}")
    machine.succeed("/run/current-system/bin/switch-to-configuration boot")
    machine.succeed(f"nix-uki verify --cert {KEYS}/db/db.pem /boot/EFI/systemd/systemd-bootx64.efi")
    machine.shutdown()
    machine.start()
    boot_checked(machine)
    machine.succeed(SECURE_BOOT_ON)


def entry(machine, fragment):
    """The systemd-boot entry id whose name contains fragment."""
    entries = json.loads(machine.succeed("bootctl list --json=short"))
    ids = [e["id"] for e in entries if fragment in e["id"]]
    assert len(ids) == 1, f"entries matching {fragment}: {ids} of {[e['id'] for e in entries]}"
    return ids[0]


def boot_entry(machine, fragment):
    """Boot the entry whose name contains fragment once."""
    machine.succeed(f"bootctl set-oneshot {entry(machine, fragment)}")
    machine.shutdown()
    machine.start()
    boot_checked(machine)


def boot_second_generation(machine):
    """Make the machine's specialisation "second" (whose /etc/generation
    says 2) the system profile's next generation, install, and boot it: the
    newest generation is the default."""
    machine.succeed(
        "nix-env -p /nix/var/nix/profiles/system --set $(readlink -f /run/current-system/specialisation/second)",
        "/nix/var/nix/profiles/system/bin/switch-to-configuration boot",
    )
    machine.shutdown()
    machine.start()
    boot_checked(machine)
    machine.succeed("grep -qx 2 /etc/generation")
