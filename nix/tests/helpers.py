# Steps shared by the VM tests (nix/tests/default.nix puts this file before
# each test script). `machine` is the test driver's machine object.
import json

# The key set (sbctl's layout: KEYDIR/keys/db/db.key ...), as signed.nix names it.
KEYDIR = "/var/lib/nix-boot-security"
DB_CERT = f"{KEYDIR}/keys/db/db.pem"
SECURE_BOOT_ON = "bootctl status 2>/dev/null | grep -q 'Secure Boot: enabled'"


def boot_checked(machine):
    """Wait for the boot in progress and see the store check pass."""
    machine.wait_for_console_text("nix-closure-verify: store ok")
    machine.wait_for_unit("multi-user.target")


def reboot(machine):
    machine.shutdown()
    machine.start()
    boot_checked(machine)


def switch_to(machine, name):
    """Make generation 1's specialisation NAME the system profile's next
    generation, install, and boot it: the newest generation is the
    default."""
    machine.succeed(
        "nix-env -p /nix/var/nix/profiles/system --set"
        f" $(readlink -f /nix/var/nix/profiles/system-1-link/specialisation/{name})",
        "/nix/var/nix/profiles/system/bin/switch-to-configuration boot",
    )
    reboot(machine)


def enroll_and_sign(machine):
    """A user's first steps after the unsigned install: create keys, enroll
    them while the firmware is in setup mode, install the signed
    configuration, reboot with Secure Boot enforced."""
    machine.succeed(f"nix-uki keys create --dir {KEYDIR}")
    machine.succeed(f"nix-uki keys enroll --dir {KEYDIR}")
    switch_to(machine, "signed")
    machine.succeed(SECURE_BOOT_ON)
    machine.succeed(f"nix-uki verify --cert {DB_CERT} /boot/EFI/systemd/systemd-bootx64.efi")


def entry(machine, fragment):
    """The systemd-boot entry id whose name contains fragment."""
    entries = json.loads(machine.succeed("bootctl list --json=short"))
    ids = [e["id"] for e in entries if fragment in e["id"]]
    assert len(ids) == 1, f"entries matching {fragment}: {ids} of {[e['id'] for e in entries]}"
    return ids[0]


def boot_entry(machine, fragment):
    """Boot the entry whose name contains fragment, once."""
    machine.succeed(f"bootctl set-oneshot {entry(machine, fragment)}")
    reboot(machine)
