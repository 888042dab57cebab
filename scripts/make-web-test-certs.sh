#!/usr/bin/env bash
# Makes the certificates of crates/cairn-http/tests/data/web/ with openssl: a test CA, a
# server certificate for localhost and 127.0.0.1, a client certificate with SANs the tests
# allow, and a client certificate from a second CA that the server does not trust. Valid for
# 100 years so the committed files do not expire. Re-run only to change them.
set -euo pipefail
out="$(dirname "$0")/../crates/cairn-http/tests/data/web"
mkdir -p "$out"
cd "$out"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 36500 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name ca subject extensions
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
    -out "$1.crt" -days 36500 -extfile <(printf '%s\n' "$4") 2>/dev/null
  rm "$1.csr"
}
ca ca "cairn test CA"
ca other-ca "cairn untrusted CA"
leaf server ca localhost "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client ca "push client" "subjectAltName=DNS:client.example,email:ops@example.com,IP:10.0.0.7
extendedKeyUsage=clientAuth"
leaf stranger other-ca "stranger" "subjectAltName=DNS:client.example
extendedKeyUsage=clientAuth"
rm -f ./*.srl ca.key other-ca.key
