# A file of the booted system changed in the store stops the next boot
# (onFailure = "halt"): the check names the file and powers the machine off
# before the system runs anything from its store.
{
  machine = { };

  testScript = ''
    import re

    machine.start()
    boot_checked(machine)
    enroll_and_sign(machine)

    victim = machine.succeed("readlink -f /run/current-system/nixos-version").strip()
    machine.succeed(
        "mount -o remount,rw /nix/store",
        f"chmod u+w {victim}",
        f"echo tampered >> {victim}",
        "sync",
    )
    machine.shutdown()
    machine.start()
    # The failure names the store path (or the file in it).
    top = "/".join(victim.split("/")[:4])
    machine.wait_for_console_text("nix-closure-verify: FAILED " + re.escape(top))
    machine.wait_for_console_text("nix-closure-verify: boot stopped; powering off")
    machine.wait_for_shutdown()
  '';
}
