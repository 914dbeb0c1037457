// Package swtpm starts the swtpm TPM 2.0 emulator and talks to it.
//
// swtpm is started as `swtpm socket --tpm2 --server type=unixio --ctrl
// type=unixio --flags not-need-init,startup-clear`: with not-need-init the
// data socket carries raw TPM 2.0 command and response buffers (TPM 2.0
// Part 1 framing: a 10-byte header whose bytes 2..5 are the big-endian total
// size), and startup-clear sends TPM2_Startup(CLEAR) for us, so PCRs start
// at zero as after a reset.
//
// The data socket is also what tpm2-tss's swtpm TCTI expects
// ("swtpm:path=SOCKET", control socket at SOCKET.ctrl), so the same emulator
// serves systemd tools: see Emulator.TCTI.
//
// The emulator is trusted to be swtpm; its responses are only checked for
// framing. Nothing here is meant for production TPMs.
package swtpm
