# The district portal: portald (FastCGI pool), portalctl (admin CLI),
# their tests, the local stack and the benchmark. See README.md.

PREFIX  ?= /usr/local
DESTDIR ?=
SANITIZE ?=
PYTHON  ?= /usr/bin/python3

ifeq ($(SANITIZE),1)
BUILD   ?= build/sanitize
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   ?= build/default
SANFLAGS =
endif

CC      ?= gcc
PKGS     = fcgi libpq jansson libjwt libsodium
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
           -fstack-protector-strong $(SANFLAGS) \
           -I$(BUILD)/gen -Ifcgi $(shell pkg-config --cflags $(PKGS))
LDFLAGS += $(SANFLAGS)
LDLIBS   = $(shell pkg-config --libs $(PKGS))
TEST_LDLIBS = $(LDLIBS) $(shell pkg-config --libs cmocka)

SQL_FILES  = $(sort $(wildcard sql/*.sql))
CTL_FILES  = $(sort $(wildcard sql/portalctl/*.sql))
MIGRATIONS = $(sort $(wildcard migrations/*.sql))

GEN = $(BUILD)/gen/sql_catalog.c $(BUILD)/gen/ctl_catalog.c $(BUILD)/gen/migrations_catalog.c

# the service without its main(): shared by portald and the unit tests
CORE = arena strbuf utf8 log config scoreboard route problem request response db \
       listen worker pool migrate health metrics_handler routes keyring token password \
       validate api session auth_handlers places users image cases photos editions
CORE_OBJS = $(addprefix $(BUILD)/obj/,$(addsuffix .o,$(CORE))) \
            $(BUILD)/obj/sql_catalog.o $(BUILD)/obj/migrations_catalog.o $(BUILD)/obj/ctl_catalog.o

UNIT_TESTS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all clean test unit-test integration-test run bench install format format-check fuzz

all: $(BUILD)/portald $(BUILD)/portalctl $(BUILD)/bench-responder

$(BUILD)/embed: fcgi/tools/embed.c
	@mkdir -p $(@D)
	$(CC) -O1 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/gen/sql_catalog.c: $(SQL_FILES) $(BUILD)/embed
	@mkdir -p $(@D)
	$(BUILD)/embed $@ $(BUILD)/gen/sql_catalog.h sql $(SQL_FILES)
$(BUILD)/gen/ctl_catalog.c: $(CTL_FILES) $(BUILD)/embed
	@mkdir -p $(@D)
	$(BUILD)/embed $@ $(BUILD)/gen/ctl_catalog.h ctl $(CTL_FILES)
$(BUILD)/gen/migrations_catalog.c: $(MIGRATIONS) $(BUILD)/embed
	@mkdir -p $(@D)
	$(BUILD)/embed $@ $(BUILD)/gen/migrations_catalog.h migrations $(MIGRATIONS)

$(BUILD)/obj/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/obj/%.o: fcgi/%.c $(wildcard fcgi/*.h) $(GEN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/portald: $(CORE_OBJS) $(BUILD)/obj/main.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/portalctl: $(BUILD)/obj/portalctl.o $(BUILD)/obj/migrate.o $(BUILD)/obj/ctl_catalog.o \
                    $(BUILD)/obj/migrations_catalog.o $(BUILD)/obj/ctl_users.o \
                    $(BUILD)/obj/ctl_keys.o $(BUILD)/obj/password.o $(BUILD)/obj/utf8.o \
                    $(BUILD)/obj/keyring.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench-responder: bench/responder.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(TEST_LDLIBS)

unit-test: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

integration-test: all
	PORTAL_BUILD=$(BUILD) $(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

test: unit-test integration-test

# exec: the stack is make's own child, so SIGTERM to make reaches it and stops everything
run:
	scripts/install-deps
	$(MAKE) all
	PORTAL_BUILD=$(BUILD) exec scripts/stack run

# Fuzzes the code that reads hostile bytes (the image parser, token verification) (needs clang and libclang-rt-14-dev); not part of
# make test. FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	@mkdir -p $(BUILD)/fuzz/corpus-image
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ifcgi -o $(BUILD)/fuzz/fuzz_image \
	      tests/fuzz/fuzz_image.c fcgi/image.c
	$(BUILD)/fuzz/fuzz_image -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	      $(BUILD)/fuzz/corpus-image tests/fuzz/corpus/image
	@mkdir -p $(BUILD)/fuzz/corpus-token
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ifcgi \
	      $(shell pkg-config --cflags libjwt jansson) -o $(BUILD)/fuzz/fuzz_token \
	      tests/fuzz/fuzz_token.c fcgi/token.c fcgi/keyring.c \
	      $(shell pkg-config --libs libjwt jansson libsodium)
	$(BUILD)/fuzz/fuzz_token -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	      $(BUILD)/fuzz/corpus-token tests/fuzz/corpus/token

bench: all
	PORTAL_BUILD=$(BUILD) /usr/bin/python3 scripts/bench

install: $(BUILD)/portald $(BUILD)/portalctl
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/portal/nginx
	install -m 0755 $(BUILD)/portald $(BUILD)/portalctl $(DESTDIR)$(PREFIX)/bin/
	cp -R nginx/. $(DESTDIR)$(PREFIX)/share/portal/nginx/
	install -m 0644 openapi.json $(DESTDIR)$(PREFIX)/share/portal/openapi.json
	install -m 0644 scripts/bootstrap.sql $(DESTDIR)$(PREFIX)/share/portal/bootstrap.sql

format:
	clang-format -i fcgi/*.c fcgi/*.h fcgi/tools/*.c tests/unit/*.c tests/fuzz/*.c bench/*.c

format-check:
	clang-format --dry-run --Werror fcgi/*.c fcgi/*.h fcgi/tools/*.c tests/unit/*.c tests/fuzz/*.c bench/*.c

clean:
	rm -rf build
