# segtls - top-level build.
#
#   make              build everything that can be built here
#   make deps         install the Debian packages segtls needs (root; idempotent)
#   make test         build, install missing packages, run every test through prove
#   make check-asan   the same tests against an ASan+UBSan build
#   make run          start segtls on loopback (see README.md)
#   make install DESTDIR=... PREFIX=...
#
# Each directory adds its programs and tests in a module.mk fragment:
#   PROGRAMS += name          name_SRCS = dir/a.c dir/b.c
#   TEST_SCRIPTS += t/x.t     (executable TAP scripts)
# C unit tests are t/unit/*.c, one TAP binary each.

VERSION     := 0.1.0
PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
LOCALSTATEDIR ?= /var
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= /lib/systemd/system
DESTDIR     ?=

BUILD       ?= build
CC          ?= cc
PKGS        := glib-2.0 gio-2.0 gio-unix-2.0 json-glib-1.0 openssl
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN        := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
OPT         ?= -O2 -g
SAN         ?=
CPPFLAGS    += -D_GNU_SOURCE -DSEGTLS_VERSION='"$(VERSION)"' \
               -DSEGTLS_SYSCONFDIR='"$(SYSCONFDIR)"' -Ilib
CFLAGS      += -std=c11 $(WARN) $(OPT) $(SAN) $(PKG_CFLAGS)
LDFLAGS     += $(SAN)
LDLIBS      += $(PKG_LIBS)

PROGRAMS    :=
TEST_SCRIPTS :=
EXTRA_LIBS  :=
EXTRA_TARGETS :=
.DEFAULT_GOAL := all
-include $(sort $(wildcard lib/*.mk policyd/*.mk milter/*.mk tools/*.mk \
         nginx-module/*.mk standalone/*.mk t/*.mk))

LIB_SRCS    := $(wildcard lib/*.c)
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB         := $(BUILD)/libsegtls.a

UNIT_SRCS   := $(wildcard t/unit/*.c)
UNIT_BINS   := $(UNIT_SRCS:t/unit/%.c=$(BUILD)/t/%.t)

PROG_BINS   := $(PROGRAMS:%=$(BUILD)/bin/%)

.PHONY: all deps test check-asan run install clean bench fuzz
.SECONDARY:
all: $(PROG_BINS) $(UNIT_BINS) $(EXTRA_TARGETS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# One rule per program, from its NAME_SRCS.
define PROGRAM_template
$(BUILD)/bin/$(1): $$($(1)_SRCS:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS) $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_template,$(p))))

$(BUILD)/t/%.t: $(BUILD)/t/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Debian packages. Installed only when one is missing.
DEB_PKGS := gcc make pkg-config libc6-dev libglib2.0-dev libjson-glib-dev \
            libssl-dev openssl libmilter-dev perl postfix nginx nginx-dev \
            swaks curl bsdutils procps iproute2 valgrind clang \
            libclang-rt-14-dev ca-certificates miltertest \
            libnet-ssleay-perl python3 zlib1g-dev logrotate faketime tzdata
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing:" $$missing; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  echo "postfix postfix/main_mailer_type select No configuration" | $$SUDO debconf-set-selections; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "make deps: all packages present"; fi

# Tests see the build through these.
export SEGTLS_TOP   := $(CURDIR)
export SEGTLS_BUILD := $(abspath $(BUILD))
export SEGTLS_BIN   := $(abspath $(BUILD))/bin
PROVE_FLAGS ?=

test: deps
	$(MAKE) all
	prove $(PROVE_FLAGS) --exec '' $(UNIT_BINS) $(TEST_SCRIPTS)

check-asan: deps
	$(MAKE) BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' test

run: deps all
	@tools/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/segtls $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR)
	install -d -m 0751 $(DESTDIR)$(LOCALSTATEDIR)/lib/segtls
	install -d -m 0755 $(DESTDIR)$(LOCALSTATEDIR)/log/segtls $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	[ -e $(DESTDIR)$(SYSCONFDIR)/logrotate.d/segtls ] || \
	  install -m 0644 conf/segtls.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/segtls
	for p in $(PROGRAMS); do \
	  case $$p in segtls-policyd|segtls-apply|segtls-milter) d=$(SBINDIR);; *) d=$(BINDIR);; esac; \
	  install -m 0755 $(BUILD)/bin/$$p $(DESTDIR)$$d/$$p; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/segtls/segtls.conf ] || \
	  install -m 0644 conf/segtls.conf $(DESTDIR)$(SYSCONFDIR)/segtls/segtls.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/segtls/apply.conf ] || install -m 0644 conf/apply.conf $(DESTDIR)$(SYSCONFDIR)/segtls/apply.conf
	for f in conf/*.service; do [ -e "$$f" ] && \
	  sed 's,@SBINDIR@,$(SBINDIR),g; s,@BINDIR@,$(BINDIR),g' $$f > $(DESTDIR)$(UNITDIR)/$${f##*/}; done; true
	for m in man/*.1; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done; true
	for m in man/*.8; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man8/; done; true

clean:
	rm -rf build build-asan build-fuzz build-asan-fuzz
