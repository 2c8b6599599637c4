#ifndef DROPFEED_CLIBCRYPTO_SHIM_H
#define DROPFEED_CLIBCRYPTO_SHIM_H
/* OpenSSL's libcrypto (brought onto the system by libssh2-1-dev): its EVP digest API only. */
#include <openssl/evp.h>
#endif
