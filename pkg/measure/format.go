package measure

// PCRKernelBoot is the PCR systemd-stub measures UKI sections into
// (TPM2_PCR_KERNEL_BOOT in systemd's src/fundamental/tpm2-pcr.h).
const PCRKernelBoot = 11

// Boot phase words systemd-pcrphase extends into PCR 11 (the words ukify
// accepts in --phases; systemd-pcrphase.service(8)).
const (
	PhaseEnterInitrd = "enter-initrd"
	PhaseLeaveInitrd = "leave-initrd"
	PhaseSysinit     = "sysinit"
	PhaseReady       = "ready"
	PhaseShutdown    = "shutdown"
	PhaseFinal       = "final"
)

var knownPhaseWords = []string{
	PhaseEnterInitrd, PhaseLeaveInitrd, PhaseSysinit, PhaseReady, PhaseShutdown, PhaseFinal,
}

// phaseSeparator joins the words of a phase path.
const phaseSeparator = ":"

// defaultPhasePaths are systemd-measure's phase paths when none is given:
// from entering the initrd to the system being up (measure-tool.c).
var defaultPhasePaths = []string{
	"enter-initrd",
	"enter-initrd:leave-initrd",
	"enter-initrd:leave-initrd:sysinit",
	"enter-initrd:leave-initrd:sysinit:ready",
}
