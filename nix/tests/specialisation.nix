# A specialisation gets its own signed entry, with its own command line and
# closure manifest, and boots with the store check passing. (Generation 1,
# which has the specialisation, is signed by the signed configuration's
# install, as every installed generation is.)
{
  machine = {
    specialisation.extra.configuration = {
      environment.etc.specialisation.text = "extra";
      boot.kernelParams = [ "nix-boot-security-test=extra" ];
    };
  };

  testScript = ''
    machine.start()
    boot_checked(machine)
    enroll_and_sign(machine)

    boot_entry(machine, "-specialisation-extra-")
    machine.succeed("grep -qx extra /etc/specialisation")
    machine.succeed("grep -q nix-boot-security-test=extra /proc/cmdline")
    machine.succeed(SECURE_BOOT_ON)
  '';
}
