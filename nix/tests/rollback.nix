# Rollback: a second generation becomes the default, and the first one is
# still installed, signed and bootable with its own closure manifest.
# The second generation is the machine's specialisation "second", set as
# the system profile's generation 2.
{
  machine =
    { lib, ... }:
    {
      environment.etc.generation.text = lib.mkDefault "1";
      specialisation.second.configuration.environment.etc.generation.text = "2";
    };

  testScript = ''
    machine.start()
    boot_checked(machine)
    enroll_and_sign(machine)

    boot_second_generation(machine)

    with subtest("the older generation boots once chosen"):
        boot_entry(machine, "nixos-generation-1-")
        machine.succeed("grep -qx 1 /etc/generation")
        machine.succeed(SECURE_BOOT_ON)
  '';
}
