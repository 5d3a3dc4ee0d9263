package stack

// RemoveDerivedTemplates exposes uninstall's removal of derived alert
// templates to the integration tests, which must not remove the shared
// bundled templates other suites rely on.
var RemoveDerivedTemplates = removeDerivedTemplates
