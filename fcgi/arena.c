/*
 * arena: bump allocation from a list of chunks. The first chunk is kept
 * across resets so a steady request load allocates nothing from malloc;
 * a request that needs more gets extra chunks, freed at its reset.
 */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    size_t used;
    unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*destroy)(void *);
    void *object;
};

struct arena {
    struct arena_chunk *head; /* current chunk; the first chunk is last in the list */
    struct arena_cleanup *cleanups;
    size_t chunk_size;
    size_t used_total;
};

static struct arena_chunk *arena_chunk_create(size_t size)
{
    if (size > SIZE_MAX - sizeof(struct arena_chunk))
        return NULL;
    struct arena_chunk *chunk = malloc(sizeof(*chunk) + size);
    if (chunk == NULL)
        return NULL;
    chunk->next = NULL;
    chunk->size = size;
    chunk->used = 0;
    return chunk;
}

arena_t *arena_create(size_t chunk_size)
{
    arena_t *arena = malloc(sizeof(*arena));
    if (arena == NULL)
        return NULL;
    if (chunk_size < 256)
        chunk_size = 256;
    arena->chunk_size = chunk_size;
    arena->cleanups = NULL;
    arena->used_total = 0;
    arena->head = arena_chunk_create(chunk_size);
    if (arena->head == NULL) {
        free(arena);
        return NULL;
    }
    return arena;
}

static void arena_run_cleanups(arena_t *arena)
{
    while (arena->cleanups != NULL) {
        struct arena_cleanup *c = arena->cleanups;
        arena->cleanups = c->next;
        c->destroy(c->object); /* the record itself lives in the arena */
    }
}

void arena_reset(arena_t *arena)
{
    arena_run_cleanups(arena);
    while (arena->head->next != NULL) {
        struct arena_chunk *extra = arena->head;
        arena->head = extra->next;
        free(extra);
    }
    arena->head->used = 0;
    arena->used_total = 0;
}

void arena_free(arena_t *arena)
{
    if (arena == NULL)
        return;
    arena_reset(arena);
    free(arena->head);
    free(arena);
}

void *arena_alloc(arena_t *arena, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_chunk *chunk = arena->head;
    if (chunk->size - chunk->used < rounded) {
        size_t want = rounded > arena->chunk_size ? rounded : arena->chunk_size;
        struct arena_chunk *fresh = arena_chunk_create(want);
        if (fresh == NULL)
            return NULL;
        fresh->next = chunk;
        arena->head = fresh;
        chunk = fresh;
    }
    void *p = chunk->data + chunk->used;
    chunk->used += rounded;
    arena->used_total += rounded;
    return p;
}

void *arena_calloc(arena_t *arena, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *p = arena_alloc(arena, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

char *arena_strndup(arena_t *arena, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *copy = arena_alloc(arena, len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *arena_strdup(arena_t *arena, const char *s)
{
    return arena_strndup(arena, s, strlen(s));
}

char *arena_vprintf(arena_t *arena, const char *fmt, va_list ap)
{
    va_list probe;
    va_copy(probe, ap);
    int len = vsnprintf(NULL, 0, fmt, probe);
    va_end(probe);
    if (len < 0)
        return NULL;
    char *out = arena_alloc(arena, (size_t)len + 1);
    if (out == NULL)
        return NULL;
    vsnprintf(out, (size_t)len + 1, fmt, ap);
    return out;
}

char *arena_printf(arena_t *arena, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = arena_vprintf(arena, fmt, ap);
    va_end(ap);
    return out;
}

int arena_defer(arena_t *arena, void (*destroy)(void *), void *object)
{
    struct arena_cleanup *c = arena_alloc(arena, sizeof(*c));
    if (c == NULL) {
        destroy(object);
        return -1;
    }
    c->destroy = destroy;
    c->object = object;
    c->next = arena->cleanups;
    arena->cleanups = c;
    return 0;
}

size_t arena_used(const arena_t *arena)
{
    return arena->used_total;
}
