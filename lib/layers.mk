# lib/layers.mk - the layers of libsegtls and what each may use.
#
# Each layer is a folder lib/NAME built into its own archive,
# $(BUILD)/lib/libsegtls-NAME.a. A layer's files are compiled with the
# include paths of the layer itself and of the layers it USES, and no
# other: a file that includes a header of a higher layer or of a sibling
# it may not use does not compile. t/layers.t checks the same table
# against every #include line and every symbol the objects take from
# each other (no upward reference, no circle between files).
#
#   recfmt   record line and timestamp format; plain C, no GLib (the
#            nginx module compiles it too)
#   util     logging, errors, atomic files and locks, privileges, quoting,
#            the path rule, key-file scanning, SMTP client I/O, reading files
#            others name, metrics, the etcd client (uses recfmt for the
#            time of a log line)
#   tls      TLS versions, cipher strings, OpenSSL contexts and errors,
#            usable-version analysis, the per-version probe
#   records  ID counters, the record writer, the Postfix log parser
#   policy   the settings model, cluster levels, key files, the store (file
#            and etcd backends), the control protocol
#   apply    renderers, apply steps and their probes
#
# Programs above use any layer. Linking order is the reverse of LAYERS.
LAYERS         := recfmt util tls records policy apply
LAYER_recfmt   :=
LAYER_util     := recfmt
LAYER_tls      := util
LAYER_records  := util recfmt
LAYER_policy   := util tls recfmt
LAYER_apply    := util tls policy
