/* SHA-256 (FIPS 180-4), written for this repository so the node needs nothing beyond libc.
 * Checked against sha256sum by `node --sha256 FILE` (see ../check-node.sh). */
#ifndef EXAMPLE_NODE_SHA256_H
#define EXAMPLE_NODE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t length;       /* bytes hashed so far */
    unsigned char block[64];
    size_t used;           /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t size);
void sha256_final(struct sha256 *s, unsigned char digest[32]);
/* Writes 64 lowercase hex digits and a NUL into hex. */
void sha256_hex(const unsigned char digest[32], char hex[65]);

#endif
