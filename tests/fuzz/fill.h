/* fill.h — builds a valid instance of any protobuf-c message by reflection:
 * every field set (numbers, a chosen enum value, short strings and bytes,
 * one element per repeated field, nested messages filled in turn), all from
 * a bump arena that fill_reset() empties. For fuzz targets that need a
 * well-formed peer answer, and for the seed generator. Test code only. */
#ifndef INKAN_FUZZ_FILL_H
#define INKAN_FUZZ_FILL_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* A filled message of type d; `v` varies the values (lengths, numbers). */
ProtobufCMessage *fill_message(const ProtobufCMessageDescriptor *d, uint8_t v);
void fill_reset(void);

#endif
