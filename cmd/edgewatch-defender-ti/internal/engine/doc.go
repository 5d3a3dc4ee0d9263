// Package engine runs one detection window: indicators, facing set, events,
// correlation, write. It is what the detector plugin process executes; the
// host never imports it.
package engine
