// zlib (zlib1g-dev): CRC-32 for the EIF header checksum, the same function eif_build's `crc` crate computes.
#include <zlib.h>
