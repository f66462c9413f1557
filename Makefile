# segtls - top-level build.
#
#   make              build everything that can be built here
#   make deps         install the Debian packages segtls needs (root; idempotent)
#   make test         build, install missing packages, run every test through prove
#   make check-asan   the same tests against an ASan+UBSan build
#   make run          start segtls on loopback (see README.md)
#   make install DESTDIR=... PREFIX=...
#   make deb          the Debian packages in build/deb (deb-deps: only what
#                     building them needs, from debian/control)
#   make check-install  the packages installed on a bare Debian 12 as README's
#                     "Installing on a Postfix host" says (t/install/README)
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
# Asked of pkg-config when first used, not when make reads this file: on a
# bare machine `make run` installs GLib (deps) before anything compiles.
PKG_CFLAGS   = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS     = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)
WARN        := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
OPT         ?= -O2 -g
SAN         ?=
CPPFLAGS    += -D_GNU_SOURCE -DSEGTLS_VERSION='"$(VERSION)"' \
               -DSEGTLS_SYSCONFDIR='"$(SYSCONFDIR)"'
CFLAGS      += -std=c11 $(WARN) $(OPT) $(SAN) $(PKG_CFLAGS)
LDFLAGS     += $(SAN)
LDLIBS      += $(PKG_LIBS)

PROGRAMS    :=
TEST_SCRIPTS :=
EXTRA_LIBS  :=
EXTRA_TARGETS :=
.DEFAULT_GOAL := all
reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
include lib/layers.mk
# libsegtls, one archive per layer (lib/layers.mk). Programs and tests see
# every layer; a layer's own files see only the layers it uses.
LIB_INCS    := $(LAYERS:%=-Ilib/%)
INCS        := $(LIB_INCS)
LIB_SRCS    := $(foreach l,$(LAYERS),$(wildcard lib/$(l)/*.c))
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB         := $(foreach l,$(call reverse,$(LAYERS)),$(BUILD)/lib/libsegtls-$(l).a)

define LAYER_template
$(BUILD)/lib/$(1)/%.o: INCS = $(foreach u,$(1) $(LAYER_$(1)),-Ilib/$(u))
$(BUILD)/lib/libsegtls-$(1).a: $(patsubst %.c,$(BUILD)/%.o,$(wildcard lib/$(1)/*.c))
	@mkdir -p $$(@D)
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call LAYER_template,$(l))))

-include $(sort $(filter-out lib/layers.mk,$(wildcard lib/*.mk)) \
         $(wildcard policyd/*.mk milter/*.mk tools/*.mk \
         nginx-module/*.mk standalone/*.mk t/*.mk))


UNIT_SRCS   := $(wildcard t/unit/*.c)
UNIT_BINS   := $(UNIT_SRCS:t/unit/%.c=$(BUILD)/t/%.t)

PROG_BINS   := $(PROGRAMS:%=$(BUILD)/bin/%)

.PHONY: all deps test check-asan run install clean bench fuzz deb deb-deps check-install
.SECONDARY:
all: $(PROG_BINS) $(UNIT_BINS) $(EXTRA_TARGETS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INCS) $(CFLAGS) -MMD -MP -c -o $@ $<

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

-include $(shell find $(BUILD) -path $(BUILD)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)

# Debian packages. Installed only when one is missing.
DEB_PKGS := gcc make pkg-config libc6-dev libglib2.0-dev libjson-glib-dev \
            libssl-dev openssl libmilter-dev perl postfix nginx nginx-dev \
            swaks curl bsdutils procps iproute2 valgrind clang \
            libclang-rt-14-dev ca-certificates miltertest \
            libnet-ssleay-perl python3 zlib1g-dev logrotate faketime tzdata \
            debhelper dpkg-dev lintian libsoup-3.0-dev libpam0g-dev \
            libpsl-dev publicsuffix glib-networking rsyslog rsyslog-gnutls prometheus \
            chromium chromium-driver python3-selenium etcd-server etcd-client
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
	$(MAKE) all bench-tools
	prove $(PROVE_FLAGS) --exec '' $(UNIT_BINS) $(TEST_SCRIPTS)

check-asan: deps
	$(MAKE) BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' test

run: deps
	$(MAKE) all
	@tools/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/segtls $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR)
	install -d -m 0751 $(DESTDIR)$(LOCALSTATEDIR)/lib/segtls
	install -d -m 0755 $(DESTDIR)$(LOCALSTATEDIR)/log/segtls $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	[ -e $(DESTDIR)$(SYSCONFDIR)/logrotate.d/segtls ] || \
	  sed 's,@SBINDIR@,$(SBINDIR),g; s,@BINDIR@,$(BINDIR),g' conf/segtls.logrotate \
	    >$(DESTDIR)$(SYSCONFDIR)/logrotate.d/segtls
	for p in $(PROGRAMS); do \
	  case $$p in segtls-policyd|segtls-policy|segtls-apply|segtls-milter) d=$(SBINDIR);; *) d=$(BINDIR);; esac; \
	  install -m 0755 $(BUILD)/bin/$$p $(DESTDIR)$$d/$$p; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/segtls/segtls.conf ] || \
	  install -m 0644 conf/segtls.conf $(DESTDIR)$(SYSCONFDIR)/segtls/segtls.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/segtls/apply.conf ] || install -m 0644 conf/apply.conf $(DESTDIR)$(SYSCONFDIR)/segtls/apply.conf
	install -d $(DESTDIR)$(SYSCONFDIR)/pam.d
	[ -e $(DESTDIR)$(SYSCONFDIR)/pam.d/segtls ] || install -m 0644 conf/segtls.pam $(DESTDIR)$(SYSCONFDIR)/pam.d/segtls
	sed 's,@LOCALSTATEDIR@,$(LOCALSTATEDIR),g; s,@RUNDIR@,/run/segtls,g; s,@SYSCONFDIR@,$(SYSCONFDIR),g; s,@NGINX_INCLUDE@,/etc/nginx/snippets/segtls-gui.conf,g' \
	    conf/nginx-segtls-webui.conf >$(DESTDIR)$(SYSCONFDIR)/segtls/nginx-segtls-webui.conf
	for f in conf/*.service; do [ -e "$$f" ] && \
	  sed 's,@SBINDIR@,$(SBINDIR),g; s,@BINDIR@,$(BINDIR),g' $$f > $(DESTDIR)$(UNITDIR)/$${f##*/}; done; true
	for m in man/*.1; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done; true
	for m in man/*.8; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man8/; done; true
	install -d $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(PREFIX)/share/doc/segtls
	for m in man/*.7; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man7/; done; true
	install -m 0644 policyd/webui/openapi.json $(DESTDIR)$(PREFIX)/share/doc/segtls/openapi.json

# make deb: the Debian packages (debian/), built from a copy of the tree in
# $(BUILD)/deb so that the checkout stays clean; the .deb files and the
# lintian report land in $(BUILD)/deb.
DEB_DIR := $(BUILD)/deb
deb: deb-deps
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/segtls-$(VERSION)
	tar -C $(CURDIR) --exclude='./build*' --exclude=./.git --exclude='./run' -cf - . | \
	    tar -C $(DEB_DIR)/segtls-$(VERSION) -xf -
	cd $(DEB_DIR)/segtls-$(VERSION) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_DIR)/*.changes | tee $(DEB_DIR)/lintian.txt

# make deb-deps: what building the packages needs and nothing more (no
# browser, no test tools): debian/control's Build-Depends through apt's
# build-dep of this directory, and the packaging tools. Installed only when
# dpkg-checkbuilddeps finds something missing.
DEB_TOOLS := dpkg-dev debhelper lintian
deb-deps:
	@if command -v dpkg-checkbuilddeps >/dev/null && dpkg-checkbuilddeps 2>/dev/null && \
	    for p in $(DEB_TOOLS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	        grep -q 'install ok installed' || exit 1; done; then \
	  echo "make deb-deps: build dependencies present"; \
	else \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEB_TOOLS) && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q --no-install-recommends ./; \
	fi

# make check-install: t/install/check.sh in a bare Debian 12 root made by
# ../shared/testing/fresh-debian.sh from a clone of HEAD (commit first:
# what is not committed is not tested). Needs root and the network.
FRESH_DEBIAN ?= ../shared/testing/fresh-debian.sh
check-install:
	@t/install/fresh-base.sh
	@git diff --quiet HEAD -- 2>/dev/null || \
	  echo "make check-install: uncommitted changes are not tested (the root gets a clone of HEAD)"
	$(FRESH_DEBIAN) sh 't/install/check.sh </dev/null'

clean:
	rm -rf build build-asan build-fuzz build-asan-fuzz
