// Package gctune holds the garbage-collector settings of the detector
// plugin process (and of the cluster benchmark, which measures the
// plugin's read path in process).
package gctune
