// OpenSSL's libcrypto (libssl-dev): SHA-2 via EVP, RSA, EC, PEM and X.509 parsing.
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
