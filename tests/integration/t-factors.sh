#!/usr/bin/env bash
# t-factors.sh — issue 2 test (d): a SAD needs the PIN and the OTP, both right;
# one factor alone never yields one, and a TOTP step is accepted once.
. "$INKAN_SRC/tests/integration/lib.sh"
t_start
new_signer carol p256
h=$(digest sha256 "the deal")

auth_raw() {  # auth_raw AUTHDATA_JSON
  csc v2 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hashes\":[\"$h\"],\"authData\":$1}" "$TOKEN"
  SAD=$(jget '.SAD // empty')
}
wrongpin=$(printf '%06d' $(( (10#$PIN + 1) % 1000000 )))
next_otp; otp=$OTP
wrongotp=$(printf '%06d' $(( (10#$otp + 1) % 1000000 )))

auth_raw "[{\"id\":\"PIN\",\"value\":\"$wrongpin\"},{\"id\":\"OTP\",\"value\":\"$otp\"}]"
is "(d) wrong PIN: refused" "$HTTP" 400
is "(d) wrong PIN: no SAD" "$SAD" ""
ok "(d) wrong PIN: CSC error body" test -n "$(jget '.error // empty')"
auth_raw "[{\"id\":\"PIN\",\"value\":\"$PIN\"}]"
is "(d) missing OTP: refused" "$HTTP" 400
is "(d) missing OTP: no SAD" "$SAD" ""
auth_raw "[{\"id\":\"OTP\",\"value\":\"$otp\"}]"
is "(d) missing PIN (OTP alone): refused" "$HTTP" 400
is "(d) missing PIN: no SAD" "$SAD" ""
auth_raw "[{\"id\":\"PIN\",\"value\":\"$PIN\"},{\"id\":\"OTP\",\"value\":\"$wrongotp\"}]"
is "(d) wrong OTP: refused" "$HTTP" 400
is "(d) wrong OTP: no SAD" "$SAD" ""
auth_raw "[{\"id\":\"PIN\",\"value\":\"$PIN\"},{\"id\":\"OTP\",\"value\":\"\"}]"
is "(d) empty OTP: refused" "$HTTP" 400
auth_raw "[]"
is "no factor at all: refused" "$HTTP" 400

auth_raw "[{\"id\":\"PIN\",\"value\":\"$PIN\"},{\"id\":\"OTP\",\"value\":\"$otp\"}]"
is "PIN and OTP both right: SAD issued" "$HTTP" 200
ok "... and it is there" test -n "$SAD"
auth_raw "[{\"id\":\"PIN\",\"value\":\"$PIN\"},{\"id\":\"OTP\",\"value\":\"$otp\"}]"
is "the same OTP a second time is refused (replay)" "$HTTP" 400
is "... and yields no SAD" "$SAD" ""

# No access token, or a forged one: nothing.
csc v2 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hashes\":[\"$h\"]}" ""
is "no access token: 401" "$HTTP" 401
csc v2 credentials/authorize "{\"credentialID\":\"$CRED\",\"numSignatures\":1,\"hashes\":[\"$h\"]}" "forged-token"
is "forged access token: 401" "$HTTP" 401
is "... invalid_token" "$(jget .error)" "invalid_token"
is "wrong password: no access token" "$(login carol wrong-password)" ""

done_testing
