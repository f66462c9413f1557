# policyd/module.mk - segtls-policyd, the daemon that holds the settings.
PROGRAMS += segtls-policyd
segtls-policyd_SRCS = policyd/main.c policyd/control.c policyd/ops.c \
                      policyd/apply.c policyd/applyconf.c
# apply.c looks for segtls-apply in SBINDIR after its own directory
$(BUILD)/policyd/apply.o: CPPFLAGS += -DSEGTLS_SBINDIR='"$(SBINDIR)"'
