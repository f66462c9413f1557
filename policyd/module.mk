# policyd/module.mk - segtls-policyd, the daemon that holds the settings,
# with its web UI and REST API (libsoup 3, PAM).
PROGRAMS += segtls-policyd
segtls-policyd_SRCS = policyd/main.c policyd/control.c policyd/ops.c \
                      policyd/apply.c policyd/applyconf.c \
                      policyd/cluster.c policyd/clusterconf.c policyd/drift.c \
                      policyd/web.c policyd/websession.c policyd/webpage.c \
                      policyd/webreport.c
segtls-policyd_LIBS = $(SOUP_LIBS) -lpam -lz -lpsl
# Under ASan, libcrypt must be there from the start: its crypt() interceptor
# is bound at start-up, and pam_unix, dlopen()ed later, would call through
# a null pointer.
POLICYD_SAN_LIBS := -Wl,--no-as-needed -lcrypt -Wl,--as-needed
segtls-policyd_LIBS += $(if $(SAN),$(POLICYD_SAN_LIBS))
$(BUILD)/policyd/%.o: CFLAGS += $(SOUP_CFLAGS)
# apply.c looks for segtls-apply in SBINDIR after its own directory
$(BUILD)/policyd/apply.o: CPPFLAGS += -DSEGTLS_SBINDIR='"$(SBINDIR)"'

# The page's style sheet and script and the OpenAPI description, compiled
# in as a GResource (served at /static/ and /api/v1/openapi.json).
WEBUI_FILES := $(wildcard policyd/webui/*.css policyd/webui/*.js policyd/webui/*.json)
$(BUILD)/policyd/webui_res.c: policyd/webui/webui.gresource.xml $(WEBUI_FILES)
	@mkdir -p $(@D)
	glib-compile-resources --sourcedir=policyd/webui --generate-source --target=$@ $<
$(BUILD)/policyd/webui_res.o: $(BUILD)/policyd/webui_res.c
	$(CC) $(CPPFLAGS) -std=c11 $(OPT) $(SAN) $(PKG_CFLAGS) -c -o $@ $<
$(BUILD)/bin/segtls-policyd: $(BUILD)/policyd/webui_res.o
