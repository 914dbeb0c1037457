package measure

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// WriteText writes the prediction as systemd-measure calculate does without
// --json: per phase path a "# PCR[11] Phase <path>" comment (which
// systemd-measure sends to stderr), then one "11:<bank>=<hex>" line per
// bank.
func (p *Prediction) WriteText(w io.Writer) error {
	if len(p.Banks) == 0 {
		return errors.New("prediction has no banks")
	}
	bw := bufio.NewWriter(w)
	for i, v := range p.Values {
		if i%len(p.Banks) == 0 {
			fmt.Fprintf(bw, "# PCR[%d] Phase <%s>\n", PCRKernelBoot, v.Phase)
		}
		fmt.Fprintf(bw, "%d:%s=%s\n", PCRKernelBoot, v.Bank, v.Hex())
	}
	return bw.Flush()
}

// MarshalJSON encodes the prediction as systemd-measure calculate
// --json=short does: {"<bank>":[{"phase":"<path>","pcr":11,"hash":"<hex>"},
// ...],...}, banks in order, the "phase" key left out for the empty path.
func (p *Prediction) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, b := range p.Banks {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(&buf, b.String())
		buf.WriteString(":[")
		n := 0
		for _, v := range p.Values {
			if v.Bank != b {
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			buf.WriteByte('{')
			if v.Phase != "" {
				buf.WriteString(`"phase":`)
				writeJSONString(&buf, string(v.Phase))
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `"pcr":%d,"hash":"%s"}`, PCRKernelBoot, v.Hex())
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}
