package cli

import (
	"errors"
	"fmt"
)

// Exit statuses shared by all commands.
const (
	ExitOK       = 0
	ExitFailed   = 1 // verification failed
	ExitUsage    = 2 // usage or input error
	exitInternal = 2 // an error nobody classified is treated as an input error
)

// ExitError carries the exit status a command should end with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Usagef reports a usage or input error (exit status 2).
func Usagef(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Usage wraps err as a usage or input error (exit status 2).
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// Failed wraps err as a verification failure (exit status 1).
func Failed(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitFailed, Err: err}
}

// Failedf reports a verification failure (exit status 1).
func Failedf(format string, args ...any) error {
	return &ExitError{Code: ExitFailed, Err: fmt.Errorf(format, args...)}
}

// Code returns the exit status for err: 0 for nil, the ExitError's code when
// there is one, and 2 otherwise (unclassified errors come from bad input).
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return exitInternal
}
