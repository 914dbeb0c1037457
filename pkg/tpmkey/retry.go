package tpmkey

import (
	"encoding/binary"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
)

// TPM 2.0 Part 2, 6.6.3: warnings after which the same command may simply
// be sent again (the TPM was busy, testing itself or yielded).
const (
	rcRetry   = 0x922
	rcYielded = 0x908
	rcTesting = 0x90A
)

// maxRetries bounds how often one command is sent again: a TPM that keeps
// answering "retry" fails the caller instead of hanging it.
const maxRetries = 50

// retrying sends a command again while the TPM answers one of the retry
// warnings, as tpm2-tss's resource manager does. swtpm answers
// TPM_RC_RETRY to a first RSA signature while it finishes its self-test.
type retrying struct{ t transport.TPM }

// Retrying wraps t so that commands are resent on TPM_RC_RETRY,
// TPM_RC_YIELDED and TPM_RC_TESTING, at most maxRetries times each.
func Retrying(t transport.TPM) transport.TPM {
	if r, ok := t.(retrying); ok {
		return r
	}
	return retrying{t}
}

func (r retrying) Send(cmd []byte) ([]byte, error) {
	for i := 0; ; i++ {
		rsp, err := r.t.Send(cmd)
		if err != nil || len(rsp) < 10 || i >= maxRetries {
			return rsp, err
		}
		switch binary.BigEndian.Uint32(rsp[6:10]) {
		case rcRetry, rcYielded, rcTesting:
			time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
			continue
		}
		return rsp, nil
	}
}
