# Sourced by scripts/deps, scripts/test and scripts/demo: puts a Go that can
# build this module first on PATH. Any go 1.21 or newer will do: with
# GOTOOLCHAIN=auto it fetches the exact toolchain go.mod names from the Go
# module proxy (once, into the module cache) and runs that. Debian's go.env
# sets GOTOOLCHAIN=local, which would stop it, so the variable is set here
# unless the caller chose a value. Looked for in order: go on PATH,
# /usr/local/go (the upstream tarball), Debian's golang-1.23-go
# (bookworm-backports, which scripts/deps installs).

# go_usable GO: the go command GO (without switching toolchains) is 1.21 or
# newer, the first release that can fetch a toolchain.
go_usable() {
  local v
  # From /: a go.mod newer than GO must not stop it from answering.
  v=$(cd / && GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%[!0-9]*}
  [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
  ((major > 1 || minor >= 21))
}

# go_find prints the directory of the first usable go command, or fails.
go_find() {
  local go
  for go in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go /usr/lib/go-1.23/bin/go; do
    [[ -n $go && -x $go ]] && go_usable "$go" && { dirname "$go"; return 0; }
  done
  return 1
}

if go_dir=$(go_find); then
  PATH=$go_dir:$PATH
fi
unset go_dir
export PATH GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
