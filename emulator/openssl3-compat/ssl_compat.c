/* SPDX-License-Identifier: MIT */
/*
 * Debian 12's libcivetweb 1.15 loads OpenSSL at run time (dlopen("libssl.so") + dlsym) and
 * looks up SSL_get_peer_certificate, which OpenSSL 3 only has as a macro for
 * SSL_get1_peer_certificate (same semantics: a new reference). The missing symbol becomes a
 * NULL pointer that CivetWeb calls after every TLS handshake, so every HTTPS request crashes
 * the server.
 *
 * This library is built as "libssl.so" (file name and SONAME) in a private directory, linked
 * into the emulator, and depends on the real libssl.so.3. CivetWeb's dlopen("libssl.so") then
 * returns this already-loaded object; dlsym finds the function below here and every other
 * OpenSSL function in its dependencies.
 */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

X509 *SSL_get_peer_certificate(const SSL *s);

X509 *SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}
