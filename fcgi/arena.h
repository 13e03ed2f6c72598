/*
 * arena: the per-request memory pool.
 *
 * Everything a request allocates comes from its worker's arena and is
 * released at once by arena_reset() after FCGX_Finish_r, so handlers never
 * free individual objects and nothing allocated for one request outlives it.
 * Objects owned by other libraries (jansson values, libpq results) are tied
 * to the arena with arena_defer(), which runs their destructor at reset.
 */
#ifndef PORTAL_ARENA_H
#define PORTAL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena_t;

/* Returns a new arena, or NULL when out of memory; free it with arena_free(). */
arena_t *arena_create(size_t chunk_size);
void arena_free(arena_t *arena);

/* Runs deferred destructors (newest first) and releases all but the first chunk. */
void arena_reset(arena_t *arena);

/* All return NULL when out of memory or when a size overflows. */
void *arena_alloc(arena_t *arena, size_t size);
void *arena_calloc(arena_t *arena, size_t count, size_t size);
char *arena_strndup(arena_t *arena, const char *s, size_t len);
char *arena_strdup(arena_t *arena, const char *s);
char *arena_printf(arena_t *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena_t *arena, const char *fmt, va_list ap);

/* Calls destroy(object) at the next reset; returns 0, or -1 (having called
 * destroy at once) when the bookkeeping cannot be allocated. */
int arena_defer(arena_t *arena, void (*destroy)(void *), void *object);

/* Bytes handed out since the last reset (for tests and metrics). */
size_t arena_used(const arena_t *arena);

#endif
