// Package filekind names what a file that is not a regular file is, in the
// words patwatch's messages use for a path it refuses to read.
package filekind

import "io/fs"

// Of names what fi is: "a directory", "a named pipe (FIFO)", "a socket" or
// "a device"; "" for a regular file and anything else.
func Of(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return ""
}
