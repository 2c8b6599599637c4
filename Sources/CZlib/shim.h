#ifndef DROPFEED_CZLIB_SHIM_H
#define DROPFEED_CZLIB_SHIM_H
/* zlib (zlib1g-dev, which libssh2-1-dev brings): raw deflate and CRC-32, for zip archives. */
#include <zlib.h>
#endif
