package measure

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"slices"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// chain computes the expected sha256 PCR 11 by hand from the measured
// (name, data) pairs and phase words.
func chain(pairs [][2]string, words ...string) string {
	pcr := make([]byte, 32)
	ext := func(d []byte) {
		h := sha256.New()
		h.Write(pcr)
		h.Write(d)
		pcr = h.Sum(nil)
	}
	for _, p := range pairs {
		n := sha256.Sum256(append([]byte(p[0]), 0))
		ext(n[:])
		d := sha256.Sum256([]byte(p[1]))
		ext(d[:])
	}
	for _, w := range words {
		d := sha256.Sum256([]byte(w))
		ext(d[:])
	}
	return hex.EncodeToString(pcr)
}

func TestPredictRulesByVersion(t *testing.T) {
	secs := []Section{
		BytesSection(uki.SectionSBAT, []byte("sbat")),
		BytesSection(uki.SectionUname, []byte("6.1.0")),
		BytesSection(uki.SectionLinux, []byte("kernel")),
		BytesSection(uki.SectionUcode, []byte("ucode")),
		BytesSection(uki.SectionPCRSig, []byte("{}")),
		BytesSection(uki.SectionEFIFW, []byte("fw")),
		BytesSection(".sdmagic", []byte("magic")),
	}
	for _, tc := range []struct {
		version string
		pairs   [][2]string
		ignored []string
	}{
		{"252", [][2]string{{".linux", "kernel"}}, []string{".sbat", ".uname", ".ucode", ".pcrsig", ".efifw", ".sdmagic"}},
		{"254", [][2]string{{".linux", "kernel"}, {".uname", "6.1.0"}, {".sbat", "sbat"}}, []string{".ucode", ".pcrsig", ".efifw", ".sdmagic"}},
		{"256", [][2]string{{".linux", "kernel"}, {".ucode", "ucode"}, {".uname", "6.1.0"}, {".sbat", "sbat"}}, []string{".pcrsig", ".efifw", ".sdmagic"}},
		{"258", [][2]string{{".linux", "kernel"}, {".ucode", "ucode"}, {".uname", "6.1.0"}, {".sbat", "sbat"}, {".efifw", "fw"}}, []string{".pcrsig", ".sdmagic"}},
	} {
		for i := range secs {
			secs[i].Data.(*bytes.Reader).Seek(0, io.SeekStart)
		}
		r, err := RulesFor(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Predict(r, secs, []Bank{SHA256}, []Phase{"", "enter-initrd"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Ignored, tc.ignored) {
			t.Errorf("%s: ignored %q, want %q", tc.version, p.Ignored, tc.ignored)
		}
		for _, ph := range p.Phases {
			v, ok := p.Lookup(SHA256, ph)
			if want := chain(tc.pairs, ph.Words()...); !ok || hex.EncodeToString(v) != want {
				t.Errorf("%s phase %s: %x, want %s", tc.version, ph, v, want)
			}
		}
	}
}

func TestPredictSizes(t *testing.T) {
	r, _ := RulesForVersion(252)
	// VirtualSize beyond the data: the stub measures zeros.
	padded, err := Predict(r, []Section{{Name: ".linux", Data: bytes.NewReader([]byte("kern")), Size: 8}}, []Bank{SHA256}, []Phase{""})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := padded.Values[0].Hex(), chain([][2]string{{".linux", "kern\x00\x00\x00\x00"}}); got != want {
		t.Errorf("padded: %s, want %s", got, want)
	}
	// VirtualSize below the data (raw size is file-aligned): cut.
	cut, err := Predict(r, []Section{{Name: ".linux", Data: bytes.NewReader([]byte("kernel\x00\x00")), Size: 6}}, []Bank{SHA256}, []Phase{""})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cut.Values[0].Hex(), chain([][2]string{{".linux", "kernel"}}); got != want {
		t.Errorf("cut: %s, want %s", got, want)
	}
	// Size -1: all of the reader.
	all, err := Predict(r, []Section{{Name: ".linux", Data: bytes.NewReader([]byte("kernel")), Size: -1}, {Name: ".cmdline", Data: bytes.NewReader(nil), Size: -1}}, []Bank{SHA256}, []Phase{""})
	if err != nil {
		t.Fatal(err)
	}
	if got := all.Values[0].Hex(); got != cut.Values[0].Hex() {
		t.Errorf("Size -1: %s, want %s", got, cut.Values[0].Hex())
	}
	if len(all.Events) != 2 {
		t.Errorf("empty .cmdline was measured: %d events", len(all.Events))
	}
}

func TestPredictErrors(t *testing.T) {
	r, _ := RulesForVersion(252)
	k := BytesSection(uki.SectionLinux, []byte("k"))
	for _, tc := range []struct {
		name   string
		rules  Rules
		secs   []Section
		banks  []Bank
		phases []Phase
		err    error
	}{
		{"duplicate", r, []Section{k, BytesSection(uki.SectionLinux, []byte("k2"))}, nil, nil, ErrDuplicateSection},
		{"no linux", r, []Section{BytesSection(uki.SectionCmdline, []byte("x"))}, nil, nil, ErrNoLinux},
		{"empty linux", r, []Section{BytesSection(uki.SectionLinux, nil)}, nil, nil, ErrNoLinux},
		{"bad bank", r, []Section{k}, []Bank{Bank(9)}, nil, ErrUnknownBank},
		{"bad phase", r, []Section{k}, nil, []Phase{"boot"}, ErrUnknownPhase},
		{"no rules", Rules{}, []Section{k}, nil, nil, ErrUnknownStubVersion},
	} {
		if _, err := Predict(tc.rules, tc.secs, tc.banks, tc.phases); !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
		}
	}
	// A read error names the section.
	_, err := Predict(r, []Section{{Name: uki.SectionLinux, Data: io.MultiReader(bytes.NewReader([]byte("ab")), errReader{}), Size: 10}}, nil, nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("reading section .linux")) {
		t.Errorf("read error: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestPredictStreams measures a 256 MiB section in every bank and checks
// that memory allocated stays far below its size.
func TestPredictStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 256 MiB four times")
	}
	r, _ := RulesForVersion(252)
	const size = 256 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Predict(r, []Section{{Name: uki.SectionLinux, Data: io.LimitReader(zeroReader{}, size), Size: size}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("allocated %d bytes for a %d-byte section", alloc, size)
	}
}

// TestPredictReproducible: the same inputs give the same bytes.
func TestPredictReproducible(t *testing.T) {
	var outs [][]byte
	for range 2 {
		p := predictCase(t, peerCases[1].img, nil, nil)
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two predictions differ")
	}
}

func TestEventLog(t *testing.T) {
	p := predictCase(t, image{uki.SectionLinux: []byte("k"), uki.SectionCmdline: []byte("c")}, []string{"sha256"}, []string{"enter-initrd:leave-initrd"})
	log := p.EventLog(SHA256, "enter-initrd:leave-initrd")
	if len(log) != 6 {
		t.Fatalf("%d events, want 4 section + 2 phase", len(log))
	}
	pcr := make([]byte, 32)
	for _, d := range log {
		pcr = extend(SHA256, pcr, d)
	}
	if v, _ := p.Lookup(SHA256, "enter-initrd:leave-initrd"); !bytes.Equal(v, pcr) {
		t.Errorf("replayed log %x, prediction %x", pcr, v)
	}
}
