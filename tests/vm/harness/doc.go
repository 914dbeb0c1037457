// Package harness boots virtual machines for the VM tests: QEMU with OVMF
// under software emulation (TCG; OVMF does not run under KVM on the
// project's machines), Secure Boot enforced or not, an ESP served from a
// directory or an image, extra raw disks as virtio-blk, an optional TPM 2.0
// emulated by swtpm, and the serial console as a stream a test waits on.
//
// Every process the harness starts (qemu-system-x86_64, swtpm) is killed by
// VM.Close, by the hard timeout in Config.Timeout, and by the kernel if the
// test binary itself dies (Pdeathsig); Close is safe to call more than once
// and from t.Cleanup.
//
// The package is support code for tests: it trusts its Config, and treats
// what the guest prints as untrusted text that it only matches against.
// It builds without the vm tag so that `go test ./...` compiles it; the
// tests that boot machines carry the tag.
package harness
