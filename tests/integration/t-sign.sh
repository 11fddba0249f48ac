#!/usr/bin/env bash
# t-sign.sh — issue 2 test (a): sign with every key type and algorithm through
# the CSC API; every signature is verified by OpenSSL. The CMS path is the one
# ./quickstart uses (inkan-sign), verified with `openssl cms -verify`.
. "$INKAN_SRC/tests/integration/lib.sh"
t_start
printf 'a contract to sign\n' >"$T_TMP/doc.txt"

SHA256=2.16.840.1.101.3.4.2.1 SHA384=2.16.840.1.101.3.4.2.2 SHA512=2.16.840.1.101.3.4.2.3

cms_sign() {   # cms_sign USER -> inkan-sign with this signer's next OTP
  rm -f "$T_TMP/doc.txt.p7s"
  next_otp; INKAN_PASSWORD=$PW INKAN_PIN=$PIN INKAN_OTP=$OTP \
    "$(inkan_bin inkan-sign)" --url "$URL" --user "$1" --credential "$CRED" "$T_TMP/doc.txt" >/dev/null
}
cms_verify() {
  openssl cms -verify -binary -inform DER -in "$T_TMP/doc.txt.p7s" -content "$T_TMP/doc.txt" \
    -CAfile "$INKAN_STATE/ca/ca.pem" -out /dev/null 2>/dev/null
}

for kt in p256 p384 rsa2048 rsa3072; do
  new_signer "s$kt" "$kt"
  ok "$kt: inkan-sign writes a CMS signature" cms_sign "s$kt"
  ok "$kt: openssl cms -verify accepts it against the CA" cms_verify
  cert_pubkey "$CRED" "$TOKEN" "$T_TMP/$kt.pub"
  ok "$kt: credentials/info returns the certificate" test -s "$T_TMP/$kt.pub"
  # The signed attributes carry signing-certificate-v2.
  ok "$kt: CMS has signing-certificate-v2" sh -c "openssl cms -cmsout -print -inform DER -in '$T_TMP/doc.txt.p7s' | grep -q 'id-smime-aa-signingCertificateV2'"
done

# Raw signHash per algorithm, each verified with openssl pkeyutl.
raw_case() {  # raw_case KT SIGNALGO HASHOID OPENSSL_HASH MODE [SALT] [PARAMS_B64]
  local kt=$1 algo=$2 hoid=$3 h=$4 mode=$5 salt=${6:-} params=${7:-}
  local d; d=$(digest "$h" "raw $kt $algo $RANDOM")
  next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$d"
  is "$kt $algo: authorize" "$HTTP" 200
  local extra=""
  [ -n "$params" ] && extra=",\"signAlgoParams\":\"$params\""
  local hx=""; [ -n "$hoid" ] && hx=",\"hashAlgorithmOID\":\"$hoid\""
  csc v2 signatures/signHash "{\"credentialID\":\"$CRED\",\"SAD\":\"$SAD\",\"hashes\":[\"$d\"],\"signAlgo\":\"$algo\"$hx$extra}" "$TOKEN"
  is "$kt $algo: signHash" "$HTTP" 200
  ok "$kt $algo: OpenSSL verifies the signature" verify_sig "$T_TMP/$kt.pub" "$d" "$(jget '.signatures[0]')" "$mode" "$h" "$salt"
}

# PSS parameters (SHA-256, MGF1-SHA-256, salt 64) as DER, made by openssl.
cat >"$T_TMP/pss.cnf" <<'CNF'
asn1=SEQUENCE:pss
[pss]
hash=EXPLICIT:0,SEQUENCE:sha256
mgf=EXPLICIT:1,SEQUENCE:mgf1
salt=EXPLICIT:2,INTEGER:64
[sha256]
alg=OID:sha256
[mgf1]
alg=OID:mgf1
p=SEQUENCE:sha256
CNF
openssl asn1parse -genconf "$T_TMP/pss.cnf" -out "$T_TMP/pss.der" -noout >/dev/null
PSS64=$(base64 -w0 "$T_TMP/pss.der")

new_signer rawp256 p256; cert_pubkey "$CRED" "$TOKEN" "$T_TMP/p256.pub"
raw_case p256 1.2.840.10045.4.3.2 "" sha256 ecdsa
raw_case p256 1.2.840.10045.4.3.3 "" sha384 ecdsa
new_signer rawp384 p384; cert_pubkey "$CRED" "$TOKEN" "$T_TMP/p384.pub"
raw_case p384 1.2.840.10045.4.3.3 "" sha384 ecdsa
raw_case p384 1.2.840.10045.4.3.4 "" sha512 ecdsa
new_signer rawrsa rsa2048; cert_pubkey "$CRED" "$TOKEN" "$T_TMP/rsa2048.pub"
raw_case rsa2048 1.2.840.113549.1.1.11 "" sha256 pkcs1
raw_case rsa2048 1.2.840.113549.1.1.1 "$SHA512" sha512 pkcs1
raw_case rsa2048 1.2.840.113549.1.1.10 "$SHA256" sha256 pss 32
new_signer rawrsa3 rsa3072; cert_pubkey "$CRED" "$TOKEN" "$T_TMP/rsa3072.pub"
raw_case rsa3072 1.2.840.113549.1.1.12 "" sha384 pkcs1
raw_case rsa3072 1.2.840.113549.1.1.10 "" sha256 pss 64 "$PSS64"
raw_case rsa3072 1.2.840.113549.1.1.13 "$SHA512" sha512 pkcs1

# A batch: three hashes, one SAD, signatures in request order.
new_signer batch p256; cert_pubkey "$CRED" "$TOKEN" "$T_TMP/b.pub"
d1=$(digest sha256 one) d2=$(digest sha256 two) d3=$(digest sha256 three)
next_otp; authorize "$CRED" "$TOKEN" "$OTP" "$PIN" "$d1" "$d2" "$d3"
is "batch: authorize 3 hashes" "$HTTP" 200
sign_hash "$CRED" "$TOKEN" "$SAD" 1.2.840.10045.4.3.2 "" "$d3" "$d1" "$d2"
is "batch: signHash 3 hashes" "$HTTP" 200
ok "batch: 1st signature is over the 1st hash sent" verify_sig "$T_TMP/b.pub" "$d3" "$(jget '.signatures[0]')" ecdsa sha256
ok "batch: 2nd signature is over the 2nd hash sent" verify_sig "$T_TMP/b.pub" "$d1" "$(jget '.signatures[1]')" ecdsa sha256
ok "batch: 3rd signature is over the 3rd hash sent" verify_sig "$T_TMP/b.pub" "$d2" "$(jget '.signatures[2]')" ecdsa sha256

# v1 field names (hash, hashAlgo, PIN, OTP) on /csc/v1/.
new_signer v1user p256; cert_pubkey "$CRED" "$TOKEN" "$T_TMP/v1.pub"
d=$(digest sha256 v1doc)
next_otp; csc v1 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hash\":[\"$d\"],\"PIN\":\"$PIN\",\"OTP\":\"$OTP\"}" "$TOKEN"
is "v1: authorize with hash/PIN/OTP" "$HTTP" 200
SAD=$(jget .SAD)
csc v1 signatures/signHash "{\"credentialID\":\"$CRED\",\"SAD\":\"$SAD\",\"hash\":[\"$d\"],\"hashAlgo\":\"$SHA256\",\"signAlgo\":\"1.2.840.10045.4.3.2\"}" "$TOKEN"
is "v1: signHash with hash/hashAlgo" "$HTTP" 200
ok "v1: OpenSSL verifies the signature" verify_sig "$T_TMP/v1.pub" "$d" "$(jget '.signatures[0]')" ecdsa sha256

done_testing
