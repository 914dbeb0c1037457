# Rollback: a newer generation becomes the default, and the older one is
# still installed, signed and bootable with its own closure manifest.
# Generation 2 is the signed configuration (/etc/generation says 1),
# generation 3 the same with /etc/generation saying 2.
{
  machine =
    { lib, ... }:
    {
      environment.etc.generation.text = lib.mkDefault "1";
      specialisation.signed-second.configuration = {
        imports = [ ./signed.nix ];
        environment.etc.generation.text = "2";
      };
    };

  testScript = ''
    machine.start()
    boot_checked(machine)
    enroll_and_sign(machine)
    machine.succeed("grep -qx 1 /etc/generation")

    switch_to(machine, "signed-second")
    machine.succeed("grep -qx 2 /etc/generation")

    with subtest("the older generation boots once chosen"):
        boot_entry(machine, "nixos-generation-2-")
        machine.succeed("grep -qx 1 /etc/generation")
        machine.succeed(SECURE_BOOT_ON)
  '';
}
