package enroll

import (
	"errors"
	"fmt"
)

var (
	// ErrNotSetupMode is returned when the firmware is not in setup mode
	// and enrollment was not forced.
	ErrNotSetupMode = errors.New("firmware is not in setup mode")
	// ErrWriteFailed wraps the error of a write the target did not take
	// (for efivarfs, usually the firmware refusing it).
	ErrWriteFailed = errors.New("write failed")
)

// Target is where writes go: firmware through efivarfs, or a variable
// store file.
type Target interface {
	// SetupMode reports whether the target takes keys without a
	// signature from an enrolled PK.
	SetupMode() (bool, error)
	// Apply makes one write.
	Apply(Write) error
}

// Enroll applies writes in order, after checking that t is in setup mode
// unless force is set. It stops at the first write refused.
func Enroll(t Target, writes []Write, force bool) error {
	if !force {
		setup, err := t.SetupMode()
		if err != nil {
			return err
		}
		if !setup {
			return ErrNotSetupMode
		}
	}
	for _, w := range writes {
		if err := t.Apply(w); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrWriteFailed, w.Variable.Name, err)
		}
	}
	return nil
}
