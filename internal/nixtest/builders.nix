# The builder helpers every test and demo derivation goes through; they need
# only host programs (no nixpkgs, no sandbox):
#   mk NAME SCRIPT               a /bin/sh script; $out is the output
#   mkAttrs NAME ATTRS SCRIPT    a /bin/bash script with structured attributes
#                                (.attrs.sh sourced first) plus ATTRS
#
# Each script runs under `set -e` and ends with the shell's own `exit 0`, so
# the builder process is the shell until the very end. Nix 2.8 kills the
# builder's process group as soon as its log pipe reaches end of file, and
# fails the build with "signal 9 (Killed)" if the builder has not exited by
# then. Bash runs the last command of a -c string in its own process (exec,
# no fork); a coreutils program there (cp, ln, chmod) closes stdout and
# stderr before it exits, and on a busy machine Nix's kill lands in between.
# A builtin as the last command keeps the pipe open until the builder exits.
{
  mk = name: script: derivation {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-ec" (script + "\nexit 0") ];
    PATH = "/usr/bin:/bin";
  };
  mkAttrs = name: attrs: script: derivation (attrs // {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/bash";
    args = [ "-ec" ("source .attrs.sh\n" + script + "\nexit 0") ];
    PATH = "/usr/bin:/bin";
    __structuredAttrs = true;
  });
}
