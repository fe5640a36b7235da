/* responder.h: the per-worker FastCGI request loop. */
#ifndef BOCACHE_RESPONDER_H
#define BOCACHE_RESPONDER_H
#endif
