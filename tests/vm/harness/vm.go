package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultMemoryMiB = 1024
	DefaultTimeout   = 2 * time.Minute
	qemuBinary       = "qemu-system-x86_64"
)

// RefusedRE matches OVMF's console line when it refuses to start an image,
// e.g. `BdsDxe: failed to load Boot0001 "UEFI QEMU HARDDISK ..." from
// PciRoot(0x0)/...: Access Denied` for a Secure Boot violation.
var RefusedRE = regexp.MustCompile(`failed to load .*: ` + secureBootRefusalText)

// Config describes one VM.
type Config struct {
	// Firmware defaults to FirmwareSecureBoot.
	Firmware Firmware
	// VarsFile, when set, is used as the writable variable store in place
	// (not copied), so that enrolled keys or boot entries survive to the
	// next boot. Otherwise each VM gets a fresh copy of Firmware.Vars.
	VarsFile string

	// ESPDir is served to the guest as a FAT disk (QEMU's fat:rw: driver);
	// OVMF boots DIR/EFI/BOOT/BOOTX64.EFI. ESPImage is a raw disk image
	// holding an ESP instead. Either, both or neither.
	ESPDir   string
	ESPImage string
	// Disks are raw files attached as virtio-blk drives in this order; in a
	// Linux guest (with virtio_pci and virtio_blk) they are /dev/vda, vdb...
	Disks []string
	// ReadOnlyDisks attaches the disks read-only, so that VMs running at
	// the same time can share them (QEMU locks writable images).
	ReadOnlyDisks bool

	// TPM attaches a TPM 2.0 (tpm-tis) emulated by swtpm. Its state lives
	// in TPMStateDir when set (kept across boots), else in a fresh
	// directory removed by Close.
	TPM         bool
	TPMStateDir string

	MemoryMiB int
	// Timeout is the hard limit on the VM's life, counted from Start; the
	// VM is killed when it passes. Defaults to DefaultTimeout.
	Timeout time.Duration
	// ConsoleCopy, when set, receives the console bytes as they arrive
	// (for example a file, or os.Stderr while debugging).
	ConsoleCopy io.Writer
	// ExtraArgs are appended to QEMU's command line.
	ExtraArgs []string
}

// VM is a running QEMU; always Close it.
type VM struct {
	Console *Console

	cmd      *exec.Cmd
	tpm      *swtpm
	workDir  string
	stderr   lockedBuffer
	done     chan struct{}
	timer    *time.Timer
	timedOut bool
	mu       sync.Mutex
	closed   bool
}

// Start boots a VM. The returned VM is running; its console fills as the
// guest prints. ctx only bounds the start-up; the VM lives until it powers
// off, Close is called or Config.Timeout passes.
func Start(ctx context.Context, cfg Config) (vm *VM, err error) {
	if cfg.Firmware.Code == "" {
		cfg.Firmware = FirmwareSecureBoot
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = DefaultMemoryMiB
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if _, err := exec.LookPath(qemuBinary); err != nil {
		return nil, err
	}
	for _, f := range []string{cfg.Firmware.Code, cfg.Firmware.Vars} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("firmware %s: %w", cfg.Firmware.Name, err)
		}
	}
	// Short, absolute work directory: it holds the TPM's Unix socket.
	work, err := os.MkdirTemp("", "nbs-vm-")
	if err != nil {
		return nil, err
	}
	vm = &VM{workDir: work, done: make(chan struct{})}
	defer func() {
		if err != nil {
			vm.Close()
			vm = nil
		}
	}()

	vars := cfg.VarsFile
	if vars == "" {
		vars = filepath.Join(work, "OVMF_VARS.fd")
		if err := copyFile(vars, cfg.Firmware.Vars); err != nil {
			return vm, err
		}
	}

	args := []string{
		"-accel", "tcg",
		"-machine", "q35,smm=on",
		"-cpu", "max",
		"-m", strconv.Itoa(cfg.MemoryMiB),
		"-nographic", "-serial", "stdio", "-monitor", "none",
		"-no-reboot",
		// No network: a refused image must not be followed by minutes of
		// PXE and HTTP boot attempts.
		"-nic", "none",
	}
	if cfg.Firmware.Secure {
		args = append(args, "-global", "driver=cfi.pflash01,property=secure,value=on")
	}
	args = append(args,
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+qemuPath(cfg.Firmware.Code),
		"-drive", "if=pflash,format=raw,unit=1,file="+qemuPath(vars))
	if cfg.ESPDir != "" {
		abs, err := filepath.Abs(cfg.ESPDir)
		if err != nil {
			return vm, err
		}
		args = append(args, "-drive", "format=raw,file=fat:rw:"+qemuPath(abs))
	}
	if cfg.ESPImage != "" {
		args = append(args, "-drive", "format=raw,file="+qemuPath(cfg.ESPImage))
	}
	for _, d := range cfg.Disks {
		drive := "if=virtio,format=raw,file=" + qemuPath(d)
		if cfg.ReadOnlyDisks {
			drive += ",readonly=on"
		}
		args = append(args, "-drive", drive)
	}
	if cfg.TPM {
		state := cfg.TPMStateDir
		if state == "" {
			state = filepath.Join(work, "tpm")
		}
		if vm.tpm, err = startSwtpm(ctx, state); err != nil {
			return vm, err
		}
		args = append(args, vm.tpm.qemuArgs()...)
	}
	args = append(args, cfg.ExtraArgs...)

	var copyTo func([]byte)
	if cfg.ConsoleCopy != nil {
		copyTo = func(p []byte) { cfg.ConsoleCopy.Write(p) }
	}
	vm.Console = newConsole(copyTo)
	vm.cmd = exec.Command(qemuBinary, args...)
	vm.cmd.Stdout = vm.Console
	vm.cmd.Stderr = &vm.stderr
	detach(vm.cmd)
	if err := vm.cmd.Start(); err != nil {
		return vm, fmt.Errorf("starting %s: %w", qemuBinary, err)
	}
	vm.timer = time.AfterFunc(cfg.Timeout, func() {
		vm.mu.Lock()
		vm.timedOut = true
		vm.mu.Unlock()
		killGroup(vm.cmd)
	})
	go func() {
		werr := vm.cmd.Wait()
		vm.timer.Stop()
		vm.mu.Lock()
		timedOut := vm.timedOut
		vm.mu.Unlock()
		switch {
		case timedOut:
			werr = fmt.Errorf("%w (%s)", ErrHardTimeout, cfg.Timeout)
		case werr != nil:
			werr = fmt.Errorf("%w: %v: %s", ErrExited, werr, bytes.TrimSpace(vm.stderr.Bytes()))
		default:
			werr = fmt.Errorf("%w (status 0)", ErrExited)
		}
		vm.Console.end(werr)
		close(vm.done)
	}()
	return vm, nil
}

// WaitFor is Console.WaitFor.
func (vm *VM) WaitFor(ctx context.Context, re *regexp.Regexp) (string, error) {
	return vm.Console.WaitFor(ctx, re)
}

// WaitForAny is Console.WaitForAny.
func (vm *VM) WaitForAny(ctx context.Context, res ...*regexp.Regexp) (int, string, error) {
	return vm.Console.WaitForAny(ctx, res...)
}

// Wait waits for QEMU to exit and returns nil if it exited by itself with
// status 0 (the guest powered off).
func (vm *VM) Wait(ctx context.Context) error {
	select {
	case <-vm.done:
	case <-ctx.Done():
		return vm.Console.failure(fmt.Errorf("waiting for the VM to power off: %w", ctx.Err()))
	}
	vm.mu.Lock()
	timedOut := vm.timedOut
	vm.mu.Unlock()
	if timedOut {
		return vm.Console.failure(ErrHardTimeout)
	}
	if !vm.cmd.ProcessState.Success() {
		return vm.Console.failure(fmt.Errorf("%s: %v: %s", qemuBinary, vm.cmd.ProcessState, bytes.TrimSpace(vm.stderr.Bytes())))
	}
	return nil
}

// Close kills QEMU and swtpm if they still run, waits for them and removes
// the VM's work directory (not Config's files). Safe to call twice.
func (vm *VM) Close() error {
	vm.mu.Lock()
	if vm.closed {
		vm.mu.Unlock()
		return nil
	}
	vm.closed = true
	vm.mu.Unlock()
	if vm.cmd != nil && vm.cmd.Process != nil {
		select {
		case <-vm.done:
		default:
			killGroup(vm.cmd)
			<-vm.done
		}
	}
	if vm.tpm != nil {
		vm.tpm.stop()
	}
	return os.RemoveAll(vm.workDir)
}

// Stderr returns what QEMU printed on its standard error.
func (vm *VM) Stderr() string { return string(vm.stderr.Bytes()) }

// qemuPath escapes a path for a -drive option list, where "," separates
// options and ",," stands for a literal comma.
func qemuPath(p string) string { return strings.ReplaceAll(p, ",", ",,") }

func copyFile(dst, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o600)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

// Pids returns the process ids the VM started (QEMU, then swtpm if any), so
// tests can check that Close left none behind.
func (vm *VM) Pids() []int {
	var pids []int
	if vm.cmd != nil && vm.cmd.Process != nil {
		pids = append(pids, vm.cmd.Process.Pid)
	}
	if vm.tpm != nil && vm.tpm.cmd.Process != nil {
		pids = append(pids, vm.tpm.cmd.Process.Pid)
	}
	return pids
}
