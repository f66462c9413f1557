# milter/milter.mk - segtls-milter: libmilter filter + Postfix log follower.
PROGRAMS += segtls-milter
segtls-milter_SRCS = milter/main.c milter/filter.c milter/correlate.c \
                     milter/follower.c milter/relabel.c milter/macros.c \
                     milter/steps.c
segtls-milter_LIBS = -lmilter
