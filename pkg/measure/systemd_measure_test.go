package measure

import (
	"bytes"
	"slices"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// peerCases are the inputs compared with systemd-measure 252. Banks and
// phases are given as systemd-measure's --bank/--phase arguments.
var peerCases = []struct {
	name   string
	img    image
	banks  []string
	phases []string
}{
	{
		name: "linux only, defaults",
		img:  image{uki.SectionLinux: []byte("MZ kernel")},
	},
	{
		name: "all sections 252 knows, all banks",
		img: image{
			uki.SectionLinux:   pseudoRandom(100_000, 1),
			uki.SectionOSRel:   []byte("ID=nixos\nVERSION_ID=25.05\n"),
			uki.SectionCmdline: []byte("init=/nix/store/x-nixos/init root=fstab"),
			uki.SectionInitrd:  pseudoRandom(70_001, 2),
			uki.SectionSplash:  pseudoRandom(513, 3),
			uki.SectionDTB:     pseudoRandom(77, 4),
			uki.SectionPCRPKey: []byte("-----BEGIN PUBLIC KEY-----\nnot parsed\n-----END PUBLIC KEY-----\n"),
		},
		banks: []string{"sha1", "sha256", "sha384", "sha512"},
	},
	{
		name: "empty cmdline and initrd are absent",
		img: image{
			uki.SectionLinux:   []byte("kernel"),
			uki.SectionCmdline: {},
			uki.SectionInitrd:  {},
			uki.SectionOSRel:   []byte("ID=debian\n"),
		},
		banks: []string{"SHA256"},
	},
	{
		name: "custom phases incl. the empty path",
		img: image{
			uki.SectionLinux:   []byte("kernel"),
			uki.SectionCmdline: []byte("quiet"),
		},
		banks:  []string{"sha256", "sha1"},
		phases: []string{":", "enter-initrd:leave-initrd:sysinit:ready:shutdown:final", "enter-initrd", "sysinit"},
	},
	{
		name: "sections 252 does not measure are ignored",
		img: image{
			uki.SectionLinux:  []byte("kernel"),
			uki.SectionInitrd: pseudoRandom(3<<20, 9),
			uki.SectionUname:  []byte("6.1.0-28-amd64"),
			uki.SectionSBAT:   []byte("sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"),
			uki.SectionPCRSig: []byte(`{"sha256":[]}`),
		},
		banks:  []string{"sha384"},
		phases: []string{"enter-initrd"},
	},
}

func measureFlags(banks, phases []string) []string {
	var args []string
	for _, b := range banks {
		args = append(args, "--bank="+b)
	}
	for _, p := range phases {
		args = append(args, "--phase="+p)
	}
	return args
}

func predictCase(t *testing.T, img image, banks, phases []string) *Prediction {
	t.Helper()
	rules, err := RulesFor("#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := ParseBanks(banks...)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ParsePhases(phases...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Predict(rules, img.sections(), bs, ps)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPredictMatchesSystemdMeasure compares Predict with
// "systemd-measure calculate" (252), in JSON and in text form.
func TestPredictMatchesSystemdMeasure(t *testing.T) {
	needPeer(t, systemdMeasure, "systemd")
	for _, tc := range peerCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"calculate"}, tc.img.measureArgs(t, dir)...)
			args = append(args, measureFlags(tc.banks, tc.phases)...)
			want := bytes.TrimSpace(runMeasure(t, append(args, "--json=short")...))

			p := predictCase(t, tc.img, tc.banks, tc.phases)
			got, err := p.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("JSON differs\n got: %s\nwant: %s", got, want)
			}

			wantText := runMeasure(t, args...) // the "#" lines go to stderr
			var gotText bytes.Buffer
			if err := p.WriteText(&gotText); err != nil {
				t.Fatal(err)
			}
			var lines [][]byte
			for _, l := range bytes.SplitAfter(gotText.Bytes(), []byte("\n")) {
				if !bytes.HasPrefix(l, []byte("#")) {
					lines = append(lines, l)
				}
			}
			if g := bytes.Join(lines, nil); !bytes.Equal(g, wantText) {
				t.Errorf("text differs\n got: %s\nwant: %s", g, wantText)
			}
		})
	}
}

// TestSignMatchesSystemdMeasure compares Sign with "systemd-measure sign"
// (252), which needs a TPM for its policy calculation: swtpm serves it.
// RSASSA-PKCS1-v1_5 is deterministic, so the whole JSON must be equal.
func TestSignMatchesSystemdMeasure(t *testing.T) {
	needPeer(t, systemdMeasure, "systemd")
	emu := startSWTPM(t)
	key := newTestKey(t)
	for i, tc := range peerCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"sign", "--tpm2-device=" + emu.TCTI(), "--json=short", "--private-key=" + key.privPEM}, tc.img.measureArgs(t, dir)...)
			args = append(args, measureFlags(tc.banks, tc.phases)...)
			// Half the cases name the public key, half let it be derived.
			var pub any
			if i%2 == 0 {
				args = append(args, "--public-key="+key.pubPEM)
				pub = &key.priv.PublicKey
			}
			want := bytes.TrimSpace(runMeasure(t, args...))

			p := predictCase(t, tc.img, tc.banks, tc.phases)
			sig, err := Sign(key.priv, pub, p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sig.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("pcrsig differs\n got: %s\nwant: %s", got, want)
			}
			// And systemd-measure's output parses back to what we made.
			parsed, err := ParsePCRSig(want)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := parsed.MarshalJSON(); !bytes.Equal(again, want) {
				t.Errorf("parse/marshal round trip differs")
			}
			if err := parsed.Covers(p, &key.priv.PublicKey); err != nil {
				t.Error(err)
			}
			if !slices.Equal(p.Banks, parsedBanks(parsed)) {
				t.Errorf("banks %v, want %v", parsedBanks(parsed), p.Banks)
			}
		})
	}
}

func parsedBanks(s PCRSig) []Bank {
	var bs []Bank
	for _, b := range s.Banks {
		bs = append(bs, b.Bank)
	}
	return bs
}
