package wire

import "errors"

// The error taxonomy both sides share. Every failure of a run or an
// operation is one of two kinds:
//
//   - an input error (ErrInput): what the operator gave edgewatch cannot be
//     used — a flag, a config file, settings, an input file that is missing,
//     unreadable, truncated or lacks a column, a feed that yields no
//     indicator, an index that does not exist. Fixing it is the operator's
//     job; the CLI exits 2 and names the flag, file or index.
//   - everything else is a run failure: the cluster refused or could not be
//     reached, a write failed, the plugin died. The CLI exits 1; the error
//     says whether the cluster (downstream) or edgewatch was at fault.
//
// An input error travels over the plugin boundary as gRPC InvalidArgument,
// and the host's plugin client turns that code back into an error that
// matches ErrInput, so errors.Is(err, ErrInput) holds on both sides.
var ErrInput = errors.New("input error")

// InputKind returns a sentinel error with its own text that also matches
// ErrInput: a package names its kind of input error ("invalid
// configuration", "empty feed") and callers still sort it with
// errors.Is(err, ErrInput).
func InputKind(text string) error { return &inputKind{text} }

type inputKind struct{ text string }

func (k *inputKind) Error() string        { return k.text }
func (k *inputKind) Is(target error) bool { return target == ErrInput }

// AsInput marks err as an input error, keeping its text and its chain
// (errors.Is and errors.As still see what it wraps). nil stays nil.
func AsInput(err error) error {
	if err == nil || errors.Is(err, ErrInput) {
		return err
	}
	return &inputError{err}
}

type inputError struct{ err error }

func (e *inputError) Error() string        { return e.err.Error() }
func (e *inputError) Unwrap() error        { return e.err }
func (e *inputError) Is(target error) bool { return target == ErrInput }
