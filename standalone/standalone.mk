# standalone/standalone.mk - segtls-standalone: Inbound SMTP, Outbound SMTP
# and GUI HTTPS with the segtls policy and records, in one process.
PROGRAMS += segtls-standalone
segtls-standalone_SRCS = standalone/main.c standalone/conn.c standalone/listen.c \
    standalone/log.c standalone/spool.c standalone/smtp_server.c \
    standalone/smtp_client.c standalone/schedule.c standalone/https.c \
    standalone/smtp_parse.c standalone/http_parse.c standalone/gui_proxy.c
# libsoup (gui_proxy.c) is loaded with GModule when --gui-proxy asks for it
segtls-standalone_LIBS = $(shell pkg-config --libs gmodule-2.0 2>/dev/null)
$(BUILD)/standalone/gui_proxy.o: CFLAGS += $(shell pkg-config --cflags libsoup-3.0 2>/dev/null)

# t/unit/smtp_parse.c tests the pure SMTP line parsers of this directory.
$(BUILD)/t/unit/smtp_parse.o: CPPFLAGS += -Istandalone
$(BUILD)/t/smtp_parse.t: $(BUILD)/t/unit/smtp_parse.o $(BUILD)/standalone/smtp_parse.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
