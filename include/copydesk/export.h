/*
 * copydesk/export.h - CD_API, the mark of the public API.
 *
 * libcopydesk is built with -fvisibility=hidden: a function is exported
 * from the shared library (libcopydesk.so) only when its declaration in
 * include/copydesk/ carries CD_API.  Everything else the library defines
 * is internal (its functions are named cdi_, the public ones cd_), and
 * tests/run checks that the shared library exports nothing more
 * (tests/api-check).
 */
#ifndef COPYDESK_EXPORT_H
#define COPYDESK_EXPORT_H

#if defined(__GNUC__)
#define CD_API __attribute__((visibility("default")))
#else
#define CD_API
#endif

#endif
