//go:build !unix

package plugin

import "os"

const openNoFollow = 0

// fileID: no inode numbers here, so no alert file is offered or taken.
func fileID(os.FileInfo) (dev, ino uint64, ok bool) { return 0, 0, false }
