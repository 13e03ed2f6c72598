/*
 * ctl_keys: `portalctl key generate`, a new token-signing key in the
 * jwt-keys directory, and `portalctl key voter --file FILE`, the secret
 * that signs voter cookies. HS256 secrets come from libsodium; RS256 and ES256
 * key pairs from the openssl command (run directly, never through a shell).
 * Existing files are never overwritten.
 */
#ifndef PORTAL_CTL_KEYS_H
#define PORTAL_CTL_KEYS_H

/* argv[0] is the subcommand. Returns the process exit status. */
int ctl_keys(int argc, char **argv);

#endif
