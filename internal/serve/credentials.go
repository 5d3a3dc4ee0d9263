package serve

import (
	"errors"
	"strings"
)

// EnvCredentialsDirectory is where systemd puts the credentials a unit
// loads with LoadCredential= (the unit's %d).
const EnvCredentialsDirectory = "CREDENTIALS_DIRECTORY"

var errNoCredentialsDirectory = errors.New("$" + EnvCredentialsDirectory +
	" is not set: run under systemd with LoadCredential= (as edgewatch.service does), or name a plain file path")

// credentialPath expands $CREDENTIALS_DIRECTORY (or ${CREDENTIALS_DIRECTORY})
// in a secret's file path, so that a configuration can name a systemd
// credential: `file: ${CREDENTIALS_DIRECTORY}/edgewatch-cluster-password`.
// No other variable is expanded: a path is otherwise taken literally.
func credentialPath(p string, getenv func(string) string) (string, error) {
	const braced, bare = "${" + EnvCredentialsDirectory + "}", "$" + EnvCredentialsDirectory
	if !strings.Contains(p, bare) && !strings.Contains(p, braced) {
		return p, nil
	}
	dir := getenv(EnvCredentialsDirectory)
	if dir == "" {
		return "", errNoCredentialsDirectory
	}
	p = strings.ReplaceAll(p, braced, dir)
	return strings.ReplaceAll(p, bare, dir), nil
}
