package esp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Where systemd-boot looks (Boot Loader Specification; systemd-boot(7)).
const (
	LinuxDir        = "EFI/Linux"                       // Type #2 entries (UKIs)
	SystemdBootPath = "EFI/systemd/systemd-bootx64.efi" // systemd-boot's own path
	FallbackPath    = "EFI/BOOT/BOOTX64.EFI"            // the removable-media path firmware boots
	LoaderConfPath  = "loader/loader.conf"              // systemd-boot's settings
	loaderMarker    = "# Written by nix-uki install."   // first line of our loader.conf
	loaderWarning   = "# Changes are overwritten at the next install; set them in the NixOS configuration."
)

// ErrForeignLoaderConf is returned for a loader.conf this tool did not
// write (no marker line), which it does not overwrite unless forced.
var ErrForeignLoaderConf = errors.New("loader.conf was not written by nix-uki install")

// EntryName is the file name of generation n's UKI (of its specialisation
// spec, if not empty) whose recipe hashes to hash, with a boot counter of
// tries when tries > 0: nixos-generation-N[-specialisation-NAME]-HASH.efi,
// the names lanzaboote users know.
func EntryName(n int, spec, hash string, tries int) string {
	s := "nixos-generation-" + strconv.Itoa(n)
	if spec != "" {
		s += "-specialisation-" + spec
	}
	s += "-" + hash
	if tries > 0 {
		s += "+" + strconv.Itoa(tries)
	}
	return s + ".efi"
}

// entryRE matches the names EntryName makes, boot counter included.
var entryRE = regexp.MustCompile(`^nixos-generation-([1-9][0-9]{0,8})(-specialisation-[A-Za-z0-9._-]{1,64})?-[0-9a-z]{16,64}(\+[0-9]+(-[0-9]+)?)?\.efi$`)

// EntryGeneration returns the generation number in an entry's file name,
// if the name is one EntryName makes.
func EntryGeneration(name string) (int, bool) {
	n, _, ok := ParseEntryName(name)
	return n, ok
}

// ParseEntryName returns the generation number and specialisation in an
// entry's file name, if the name is one EntryName makes.
func ParseEntryName(name string) (n int, spec string, ok bool) {
	m := entryRE.FindStringSubmatch(name)
	if m == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(m[1])
	return n, strings.TrimPrefix(m[2], "-specialisation-"), err == nil
}

// OwnedEntry says whether path is one of this tool's UKIs under EFI/Linux.
func OwnedEntry(path string) bool {
	name, ok := strings.CutPrefix(path, LinuxDir+"/")
	if !ok {
		return false
	}
	_, ok = EntryGeneration(name)
	return ok
}

// EntryID is the id systemd-boot gives a Type #2 entry: its file name
// without a boot counter. loader.conf's default names it.
func EntryID(name string) string {
	return StripCounter(name)
}

// SortEntries sorts entry paths oldest generation first, so that removals
// made to free space take the oldest.
func SortEntries(paths []string) {
	gen := func(p string) int {
		n, _ := EntryGeneration(p[strings.LastIndexByte(p, '/')+1:])
		return n
	}
	sort.SliceStable(paths, func(i, j int) bool { return gen(paths[i]) < gen(paths[j]) })
}

// LoaderConf is the loader.conf this tool writes: the marker, then the
// default entry id, then the settings sorted by key (so the same settings
// give the same bytes). The caller checks the settings (no "default", no
// line breaks).
func LoaderConf(defaultID string, settings map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%s\ndefault %s\n", loaderMarker, loaderWarning, defaultID)
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", k, settings[k])
	}
	return b.Bytes()
}

// ReadLoaderConf reads the partition's loader.conf: whether there is one,
// whether this tool wrote it, and its default entry.
func ReadLoaderConf(f FS) (exists, ours bool, defaultID string, err error) {
	r, err := f.Open(LoaderConfPath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, "", nil
	}
	if err != nil {
		return false, false, "", err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxLoaderConf+1))
	if err != nil {
		return true, false, "", err
	}
	if len(data) > maxLoaderConf {
		return true, false, "", fmt.Errorf("%s: larger than %d bytes", LoaderConfPath, maxLoaderConf)
	}
	ours, defaultID = ParseLoaderConf(data)
	return true, ours, defaultID, nil
}

// maxLoaderConf bounds the loader.conf read; systemd-boot's are a few lines.
const maxLoaderConf = 64 << 10

// ParseLoaderConf says whether a loader.conf is this tool's (its first line
// is the marker) and which entry its last "default" line names (systemd-boot
// takes the last one). Lines are split as systemd-boot splits them: key,
// white space, value.
func ParseLoaderConf(data []byte) (ours bool, defaultID string) {
	lines := strings.Split(string(data), "\n")
	ours = strings.TrimRight(lines[0], "\r") == loaderMarker
	for _, l := range lines {
		l = strings.TrimSpace(l)
		k, v := l, ""
		if i := strings.IndexAny(l, " \t"); i >= 0 {
			k, v = l[:i], strings.TrimSpace(l[i:])
		}
		if k == "default" {
			defaultID = v
		}
	}
	return ours, defaultID
}
