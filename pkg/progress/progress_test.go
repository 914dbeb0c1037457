package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestMeterPrintsFinalLine(t *testing.T) {
	var b bytes.Buffer
	m := Start(&b, 4, 2048, func() (uint64, uint64) { return 4, 2048 })
	m.Stop()
	if !strings.Contains(b.String(), "2.0 KiB / 2.0 KiB (100%), 4/4 paths") {
		t.Fatalf("got %q", b.String())
	}
}
