/* fill.c — see fill.h. */
#include <stdbool.h>
#include <string.h>

#include "fill.h"

static uint8_t arena[256 * 1024];
static size_t used;

void
fill_reset(void)
{
	used = 0;
}

static void *
take(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof arena - used)
		return NULL;
	p = arena + used;
	used += n;
	memset(p, 0, n);
	return p;
}

static size_t
elt_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static ProtobufCMessage *fill(const ProtobufCMessageDescriptor *d, uint8_t v,
    int depth);

static bool
value(const ProtobufCFieldDescriptor *f, void *p, uint8_t v, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*(uint32_t *)p = 1u + v;
		return true;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		*(int *)p = e->n_values ? e->values[(1u + v) % e->n_values].value : 0;
		return true;
	}
	case PROTOBUF_C_TYPE_FLOAT: *(float *)p = 1; return true;
	case PROTOBUF_C_TYPE_DOUBLE: *(double *)p = 1; return true;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)p = 1000u + v;
		return true;
	case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)p = 1; return true;
	case PROTOBUF_C_TYPE_STRING: {
		size_t n = 1 + v % 40;
		char *s = take(n + 1);
		if (s == NULL)
			return false;
		for (size_t i = 0; i < n; i++)
			s[i] = (char)('a' + (i + v) % 26);
		*(char **)p = s;
		return true;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		b->len = 16 + (v % 4) * 16;
		b->data = take(b->len);
		if (b->data == NULL)
			return false;
		for (size_t i = 0; i < b->len; i++)
			b->data[i] = (uint8_t)(i * 7 + v);
		return true;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)p = fill(f->descriptor, v, depth + 1);
		return *(ProtobufCMessage **)p != NULL;
	}
	return false;
}

static ProtobufCMessage *
fill(const ProtobufCMessageDescriptor *d, uint8_t v, int depth)
{
	ProtobufCMessage *m;
	unsigned i;

	if (depth > 6 || (m = take(d->sizeof_message)) == NULL)
		return NULL;
	d->message_init(m);
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *member = (char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			void *arr = take(elt_size(f));
			if (arr == NULL || !value(f, arr, v, depth))
				return NULL;
			*(void **)member = arr;
			*(size_t *)((char *)m + f->quantifier_offset) = 1;
			continue;
		}
		if (!value(f, member, v, depth))
			return NULL;
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    f->quantifier_offset != 0)
			*(protobuf_c_boolean *)((char *)m +
			    f->quantifier_offset) = 1;
	}
	return m;
}

ProtobufCMessage *
fill_message(const ProtobufCMessageDescriptor *d, uint8_t v)
{
	return fill(d, v, 0);
}
