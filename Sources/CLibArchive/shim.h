// libarchive (libarchive-dev): reading tar/gzip/zstd layers and Debian packages.
#include <archive.h>
#include <archive_entry.h>

// Swift cannot import libarchive's AE_IF* macros (they expand to casts), so re-export them as constants.
static const unsigned int CLA_AE_IFMT = AE_IFMT;
static const unsigned int CLA_AE_IFREG = AE_IFREG;
static const unsigned int CLA_AE_IFLNK = AE_IFLNK;
static const unsigned int CLA_AE_IFSOCK = AE_IFSOCK;
static const unsigned int CLA_AE_IFCHR = AE_IFCHR;
static const unsigned int CLA_AE_IFBLK = AE_IFBLK;
static const unsigned int CLA_AE_IFDIR = AE_IFDIR;
static const unsigned int CLA_AE_IFIFO = AE_IFIFO;
