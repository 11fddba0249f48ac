/* samc.h — inkan-sic's pool of connections to the SAM's signer socket. At
 * most `max` connections (one per HTTP worker thread); a connection that
 * failed is closed and, if it had been reused, the call is retried once on
 * a fresh one. Fits struct csc_sam. */
#ifndef INKAN_SIC_SAMC_H
#define INKAN_SIC_SAMC_H

#include "ipc.h"

struct samc;

/* 0 or -errno. Connects lazily: the SAM may start after inkan-sic. */
int samc_new(const char *path, unsigned max, struct samc **out);
void samc_free(struct samc *s);

/* ipc_call on a pooled connection; same return contract. ctx is the
 * struct samc. */
int samc_call(void *ctx, uint32_t req_type, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **rep,
    Inkan__Status *status, char *detail, size_t detail_len);

#endif
