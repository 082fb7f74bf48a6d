#!/usr/bin/env bash
# Regenerates the test PKI: a CA, a server cert for 127.0.0.1/localhost, a client cert
# (and a self-signed 'stranger' client cert),
# all EC P-256, valid 100 years. Run from this directory: bash make.sh
set -euo pipefail
cd "$(dirname "$0")"
days=36500

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.crt -days "$days" -subj "/CN=hio-ts test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"

make_leaf() { # name cn extensions
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$1.crt" -days "$days" -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
}

make_leaf server localhost "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"

make_leaf client "hio-ts test client" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

# A client the CA never signed: self-signed, for the rejection tests.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout stranger.key -out stranger.crt -days "$days" -subj "/CN=hio-ts stranger" \
  -addext "extendedKeyUsage=clientAuth"

rm -f ca.srl
