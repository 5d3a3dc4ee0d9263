// Package eager starts the mtlswarm warm-up when a program is initialised.
// A host imports it for its side effect, as early as the import graph
// allows, so the warm-up overlaps the rest of its start-up.
package eager
