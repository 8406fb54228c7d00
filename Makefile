# ankicollab-lite — build, test, run, install.
#
#   make            build the five programs into build/
#   make run        start the suite in the foreground with the built-in defaults
#   make test       unit tests (cmocka) and integration tests (pytest, real daemons)
#   make asan       the same tests against an AddressSanitizer/UBSan build
#   make fuzz       every libFuzzer target for FUZZ_SECONDS each
#   make bench      the benchmarks in bench/ (figures beside same-run references)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        build/deb/ankicollab-lite_*.deb with dpkg-buildpackage
#
# Missing Debian packages are installed with apt-get (as root, or through sudo
# where that works without a password); otherwise the build stops and names them.

CC        ?= cc
BUILD     ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
OPT       ?= -O2 -g
SANITIZE  ?=
FUZZ_SECONDS ?= 60
PYTHON    := /usr/bin/python3

# Debian packages: build, test, fuzz and bench.
DEB_PKGS := pkg-config make gcc clang libclang-rt-14-dev \
	libevent-dev libjson-c-dev libsqlite3-dev zlib1g-dev libsystemd-dev \
	libssl-dev libargon2-dev libhttp-parser-dev libcmocka-dev libgumbo-dev \
	libxml2-dev libpq-dev postgresql libminizip-dev python3 python3-pytest \
	python3-requests python3-prometheus-client procps chromium python3-websocket \
	time dpkg-dev debhelper fakeroot man-db groff-base systemd

PC_LIBS  := libevent json-c sqlite3 zlib libsystemd libcrypto libargon2 gumbo libxml-2.0 libpq

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-unused-parameter
SYSCONFDIR ?= /etc
MANDIR    ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# no: trust that the packages are there (a package build has its Build-Depends).
DEPS_CHECK ?= yes
CPPFLAGS += -I. -D_GNU_SOURCE -DANKICOLLAB_DEFAULT_CONFIG=\"$(SYSCONFDIR)/ankicollab/ankicollab.conf\"
# pkg-config runs when a recipe uses these, i.e. after the deps check.
# minizip is linked but not on the include path: its crypt.h would hide
# glibc's; code says <minizip/zip.h>.
PC_CFLAGS = $(shell pkg-config --cflags $(PC_LIBS))
PC_LDLIBS = $(shell pkg-config --libs $(PC_LIBS) minizip) -lhttp_parser -lm
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) $(SANITIZE) $(PC_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SANITIZE) $(LDFLAGS)
# The folder libraries call each other (common logs for proto, proto frames
# for common): link them as one group.
LINK = $(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.c,$^) \
	-Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(PC_LDLIBS)

MAN5     := $(wildcard docs/man/*.5)
MAN8     := $(wildcard docs/man/*.8)

PROGRAMS := ankicollab-supervisor ankicollab-apid ankicollab-mediad ankicollab-gcd ankicollabctl
BINS     := $(addprefix $(BUILD)/,$(PROGRAMS))

# Each folder is one library or program; every .c in it belongs to it.
objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c))
COMMON_OBJ := $(call objs,common)
PROTO_OBJ  := $(call objs,proto)
LIBS_A     := $(BUILD)/libproto.a $(BUILD)/libcommon.a
# A program is its main.o plus its folder's library, which unit tests link too.
DAEMON_DIRS := apid mediad gcd supervisor ctl
dirlib  = $(BUILD)/lib$(1).a
libobjs = $(filter-out $(BUILD)/obj/$(1)/main.o,$(call objs,$(1)))
DIR_LIBS := $(foreach d,$(DAEMON_DIRS),$(call dirlib,$(d)))

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC  := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
TEST_HELPERS_SRC := $(wildcard tests/helpers/*.c)
TEST_HELPERS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(TEST_HELPERS_SRC))

DEPS_STAMP := $(BUILD)/.deps-ok

# Quiet by default; V=1 shows the whole commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all deps test unit integration run install asan fuzz bench clean deb
# Keep intermediate objects (main.o of the pattern rules) between builds.
.SECONDARY:
all: $(BINS)

# ---- dependencies -----------------------------------------------------------

deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@[ "$(DEPS_CHECK)" = no ] || sh tests/check-deps.sh $(DEB_PKGS)
	@mkdir -p $(@D) && touch $@

# ---- compilation ------------------------------------------------------------

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@; $(AR) rcs $@ $^
$(BUILD)/libproto.a: $(PROTO_OBJ)
	@rm -f $@; $(AR) rcs $@ $^

$(foreach d,$(DAEMON_DIRS),$(eval $(call dirlib,$(d)): $(call libobjs,$(d)) ; @rm -f $$@; $$(AR) rcs $$@ $$^))

$(BUILD)/ankicollab-%: $(BUILD)/obj/%/main.o $(BUILD)/lib%.a $(LIBS_A)
	$(call say,LINK,$@)
	$(Q)$(LINK)
# ankicollabctl administers accounts with apid's password code.
$(BUILD)/ankicollabctl: $(BUILD)/obj/ctl/main.o $(BUILD)/libctl.a $(BUILD)/libapid.a $(LIBS_A)
	$(call say,LINK,$@)
	$(Q)$(LINK)

$(BUILD)/tests/%: tests/unit/%.c $(DIR_LIBS) $(LIBS_A) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -MMD -MP -o $@ $< \
		-Wl,--start-group $(DIR_LIBS) $(LIBS_A) -Wl,--end-group \
		$(PC_LDLIBS) $(shell pkg-config --libs cmocka)
$(BUILD)/tests/%: tests/helpers/%.c $(LIBS_A) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -MMD -MP -o $@ $< \
		-Wl,--start-group $(LIBS_A) -Wl,--end-group $(PC_LDLIBS)
$(BUILD)/bench/%: bench/%.c $(LIBS_A) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -MMD -MP -o $@ $< \
		-Wl,--start-group $(LIBS_A) -Wl,--end-group $(PC_LDLIBS)

-include $(shell find $(BUILD) -path $(BUILD)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)

# ---- running and testing ----------------------------------------------------

run: all
	./$(BUILD)/ankicollab-supervisor

test: unit integration

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: all $(TEST_HELPERS)
	ANKICOLLAB_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

asan:
	ANKICOLLAB_SANITIZED=1 $(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test

# Fuzz targets are built with clang's libFuzzer against the same sources.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE
$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard common/*.c common/*.h proto/*.c proto/*.h apid/*.c apid/*.h) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) $(PC_CFLAGS) -o $@ $< $(wildcard common/*.c) $(wildcard proto/*.c) $(PC_LDLIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		echo "== $$n for $(FUZZ_SECONDS) s"; rc=0; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$n \
			$$( [ -d tests/fuzz/seeds/$$n ] && echo tests/fuzz/seeds/$$n ) \
			> $(BUILD)/fuzz/$$n.log 2>&1 || rc=$$?; \
		grep -E 'DONE|Done|ERROR|SUMMARY' $(BUILD)/fuzz/$$n.log || true; \
		if [ $$rc -ne 0 ]; then tail -n 40 $(BUILD)/fuzz/$$n.log; exit $$rc; fi; \
	done

bench: all $(BENCH_BINS) $(TEST_HELPERS)
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; \
		ANKICOLLAB_BUILD=$(abspath $(BUILD)) $(PYTHON) $$b; done
	@echo "== bench/deckstream_peak.c"; $(BUILD)/bench/deckstream_peak

# ---- installing -------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/ankicollab-supervisor $(BUILD)/ankicollab-apid \
		$(BUILD)/ankicollab-mediad $(BUILD)/ankicollab-gcd $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(BUILD)/ankicollabctl $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' contrib/systemd/ankicollab.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/ankicollab.service
	install -m 0644 contrib/systemd/ankicollab.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/ankicollab.conf
	install -m 0644 contrib/systemd/ankicollab.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/ankicollab.conf
	install -d $(DESTDIR)$(SYSCONFDIR)/ankicollab
	[ -e $(DESTDIR)$(SYSCONFDIR)/ankicollab/ankicollab.conf ] || \
		install -m 0640 contrib/ankicollab.conf $(DESTDIR)$(SYSCONFDIR)/ankicollab/ankicollab.conf
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/

# The package is built in a copy of the tree: dpkg-buildpackage cleans the
# tree it builds in (make clean), which would take this build/ with it.
# The tracked and new files, or (not a git checkout) what find sees.
DEB_SRC := $(wildcard $(or $(shell git ls-files --cached --others --exclude-standard 2>/dev/null),\
	$(shell find . -path ./build -prune -o -path ./var -prune -o -path ./.git -prune -o \
	-name __pycache__ -prune -o -type f -print | sed 's|^\./||')))
DEB_STAMP := $(BUILD)/deb/.built
deb: $(DEB_STAMP)
$(DEB_STAMP): $(DEB_SRC) | $(DEPS_STAMP)
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	$(Q)tar -cf - $(DEB_SRC) | tar -C $(BUILD)/deb/src -xf -
	$(call say,DEB,$(BUILD)/deb)
	@# Not our command line (make passes BUILD=... on): the package builds its own tree.
	$(Q)cd $(BUILD)/deb/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u PREFIX -u DESTDIR \
		-u OPT -u SANITIZE -u SYSCONFDIR -u MANDIR -u SYSTEMDUNITDIR -u DEPS_CHECK \
		dpkg-buildpackage -us -uc -b > ../build.log 2>&1 || \
		{ tail -n 60 ../build.log; exit 1; }
	@ls $(BUILD)/deb/ankicollab-lite_*.deb
	@touch $@

clean:
	rm -rf $(BUILD)
