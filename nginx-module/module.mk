# nginx-module/module.mk - ngx_http_segtls_module, a dynamic module for the
# installed nginx, built with Debian's nginx-dev kit when it is present.
#
#   $(BUILD)/ngxbuild                       copy of /usr/share/nginx/src, configured once
#   $(BUILD)/nginx/ngx_http_segtls_module.so
#   make install: $(NGX_MODDIR)/ngx_http_segtls_module-<version>-<hash>.so
#     (a new name per build: a loaded .so must never be overwritten),
#     $(NGX_MODCONF)/mod-http-segtls.conf (the load_module line, linked
#     from $(NGX_MODENABLED)) and $(SYSCONFDIR)/segtls/nginx-segtls.conf
#     (the segtls_gui_log directive, for the http or server block).

# Rules below must not become the default goal of the top Makefile.

NGX_KIT        := /usr/share/nginx/src
NGX_MODDIR     ?= /usr/lib/nginx/modules
NGX_MODCONF    ?= /usr/share/nginx/modules-available
NGX_MODENABLED ?= /etc/nginx/modules-enabled
NGX_MOD_SO     := $(BUILD)/nginx/ngx_http_segtls_module.so
# compiler and linker flags of the module (debian/rules passes Debian's)
NGX_CC_OPT     ?=
NGX_LD_OPT     ?=

ifneq ($(wildcard $(NGX_KIT)/conf_flags),)
EXTRA_TARGETS  += $(NGX_MOD_SO)

# The kit's configure writes objs/Makefile only; its make must not see ours.
NGX_SUBMAKE    := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(MAKE)

$(BUILD)/ngxbuild/objs/Makefile: nginx-module/config
	rm -rf $(BUILD)/ngxbuild
	@mkdir -p $(BUILD)
	cp -a $(NGX_KIT) $(BUILD)/ngxbuild
	cd $(BUILD)/ngxbuild && env -u CFLAGS -u CPPFLAGS -u LDFLAGS SEGTLS_VERSION=$(VERSION) bash -c \
	    '. ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$$1" \
	      --with-cc-opt="$$2 -fPIC" --with-ld-opt="$$3 -fPIC"' \
	    configure $(CURDIR)/nginx-module "$(NGX_CC_OPT)" "$(NGX_LD_OPT)" >configure.log 2>&1 || \
	    { tail -20 $(BUILD)/ngxbuild/configure.log; exit 1; }

# Copied under a temporary name and renamed: never rewrite a loaded file.
$(NGX_MOD_SO): $(BUILD)/ngxbuild/objs/Makefile nginx-module/ngx_http_segtls_module.c \
               lib/recfmt/recfmt.c lib/recfmt/recfmt.h lib/tls/tlserr.c lib/tls/tlserr.h
	cd $(BUILD)/ngxbuild && $(NGX_SUBMAKE) -f objs/Makefile modules
	@mkdir -p $(@D)
	cp $(BUILD)/ngxbuild/objs/ngx_http_segtls_module.so $@.tmp
	mv -f $@.tmp $@

.PHONY: install-nginx-module
install: install-nginx-module
ifeq ($(NGX_PACKAGE),)
install-nginx-module: $(NGX_MOD_SO)
	install -d $(DESTDIR)$(NGX_MODDIR) $(DESTDIR)$(NGX_MODCONF) \
	    $(DESTDIR)$(NGX_MODENABLED) $(DESTDIR)$(SYSCONFDIR)/segtls
	so=ngx_http_segtls_module-$(VERSION)-$$(sha256sum $(NGX_MOD_SO) | cut -c1-8).so; \
	  [ -e $(DESTDIR)$(NGX_MODDIR)/$$so ] || { \
	    install -m 0644 $(NGX_MOD_SO) $(DESTDIR)$(NGX_MODDIR)/$$so.tmp && \
	    mv -f $(DESTDIR)$(NGX_MODDIR)/$$so.tmp $(DESTDIR)$(NGX_MODDIR)/$$so; }; \
	  echo "load_module $(NGX_MODDIR)/$$so;" >$(DESTDIR)$(NGX_MODCONF)/mod-http-segtls.conf
	ln -sf $(NGX_MODCONF)/mod-http-segtls.conf $(DESTDIR)$(NGX_MODENABLED)/50-mod-http-segtls.conf
	sed 's,@LOCALSTATEDIR@,$(LOCALSTATEDIR),g; s,@NGX_MODCONF@,$(NGX_MODCONF),g' \
	    conf/nginx-segtls.conf >$(DESTDIR)$(SYSCONFDIR)/segtls/nginx-segtls.conf
else
# NGX_PACKAGE=1 (debian/rules): the plain module name; dh_nginx writes the
# load_module file and enables it, and dpkg replaces a loaded file safely.
install-nginx-module: $(NGX_MOD_SO)
	install -d $(DESTDIR)$(NGX_MODDIR) $(DESTDIR)$(SYSCONFDIR)/segtls
	install -m 0644 $(NGX_MOD_SO) $(DESTDIR)$(NGX_MODDIR)/ngx_http_segtls_module.so
	sed 's,@LOCALSTATEDIR@,$(LOCALSTATEDIR),g; s,@NGX_MODCONF@,$(NGX_MODCONF),g' \
	    conf/nginx-segtls.conf >$(DESTDIR)$(SYSCONFDIR)/segtls/nginx-segtls.conf
endif
endif
