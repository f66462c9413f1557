/*
 * usable_keys - the built-in keys of the usable-version analysis.
 *
 * usable.c needs a server key of each type when no certificate is
 * configured. Generating an RSA-2048 key costs 0.1-0.9 s in every process
 * that analyses (policyd, segtls-apply, the dialog's warnings), so the two
 * keys are fixed here instead. They are public by construction: they are
 * only ever used for in-memory handshakes between two SSL objects of the
 * same process (a BIO pair), never for a listening server or a file.
 */
#include "usable_keys.h"

const char seg_usable_rsa_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCs69ME2kJ8ioa7\n"
    "9tn6eZ9V5mv0M7v7dMLH4wrUzv67d10RBlwq/+oVjmTHrGnOYn3B21ZElz7UOWNL\n"
    "vKItEK+wjoNVpfnLMDVQZd/W04W4pTnKuO9WP68mUNVAYe8TiWX+9jsveKYk5XBe\n"
    "k6QL/DGiDvZ8Cg7vIlSLnxRFjnkyrg8KRHzsLmnnkXPsP8YzfuHB3DvLNYG3xM7c\n"
    "qdABx3mkJcXNxSeniqfPneyCdEVvLWf50tVl9QLBQbYtI3j/FX9peUx/krg6SPKw\n"
    "874VVeasQpb1kO/FlmGaT8LBcxAmrvqoXsRoDKgy5QMsmRpBLhH4jikHFebpCgDn\n"
    "zISBeY15AgMBAAECggEAKLdomypnYFrf6c9wuSU9KuVUQw6Rc16lZJql2MEawvqS\n"
    "q+kS978Fl+jM+yUyTrnrQaPLVuBEF4Whx1oV18WnkMulyhuIS1tBGnq6b6Ojx3wE\n"
    "NSNBm83oCH4dEIle2XtPTG8fNYjTmjl6MZLTHE1YRIAAcumNZapwPOYKyGwJRrDJ\n"
    "VwUeZLY/e1r5bdppXKVo2td59KBuEX4wH+oA1jzaX3mdMl1Nb8IbH8wCtFwjA4I5\n"
    "FJgtz1d91mqWbZqpG2XYhEfELrJDBeC3zdJQNwpNhVym5OI8EhBVkjlO1WExwa37\n"
    "6IzYMBAmYbujIeCJI6CncxF7PUj8jaOE3Z41J5bOTwKBgQDXKshUWyimaiV9EsRu\n"
    "vYaKLPSOcylsy0MVUtIOvLyKY6mDZ85y3xUFhfRVHCT1jiugJkjq/up9uEwzgjff\n"
    "k62Y2wUY3UKTrQBwCuojQc5eZ5zC56pmpEmoWGSN63iNybVBlqG+03HQ1uAmuoDD\n"
    "tTccXC/tBbmdN8VsmKDno8/ekwKBgQDNvKf4/aO5oDPFZjZzTiSC8Tpg/UNrvvkG\n"
    "ml8+vW3dJ9mr8vDYWYzR049a7Mt2Et7zFhl9lW2wOiXhKG8/5uYBthb2Grp8W4Tq\n"
    "9Dz7UBuItH2teZa5f/xLuYfZ7C7c/k/nVBEq9UH0t2bQ0xUcdMJte4FsfekJDtKm\n"
    "uKUTffefQwKBgQCl7uNxUp/FvsRMcWW1dUnFU6gCF0PSF+sTDbzbCqhoHTXEFhD7\n"
    "O5jtmoF0BXFnQY3ZQs0nFRHnhHKXoovOSwgsgnOq2i+WzWsx/OjV6dDpswQMtzYN\n"
    "VBNN1WUuoXJl/jFfdHgmPtBeWuegVmIpC56Fq352Ttz3JuSEvCwSl50eKwKBgEyC\n"
    "gCUEjkKV5Srf3Bf9U26urvsqtEv5dTqTZiA66gR4sWZUrmSGyOuvNXym2vNKCUd1\n"
    "TH17eJM0zKlzFAw7ngW85cUYI4njrwaBVbxQCi1IkgRVV0wc4IJ4uKC+SJ8+pBBv\n"
    "HwNOufx7x+yY0x0F/tggOf1SxbrsnEIMILei/NdpAoGBALvoFBlOlFdyisCYtA5o\n"
    "cv0fMGT64tfUxLw/1NPfGOWDRtTDbNEUPuVWSBNI+0J4y3kr81I3+hD+A2nSjPy3\n"
    "+tdMjUB5rRI3UhPJbrB2IKBq2BcfvanNQu8u/zbysTvtWJ4IghXKQNswaSDdr4mi\n"
    "Y4lOG8DyqnwpVMls5jhl0d9m\n"
    "-----END PRIVATE KEY-----\n";

const char seg_usable_ecdsa_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgP6mUQh/HXH7cWO2D\n"
    "IdwvMfIi/JYovSxt9sstgKbjWKWhRANCAASyDdYuGXbcnhKhDdTQvbVxMVl5NA7f\n"
    "jLHzpGcIliTPgQsHzT7tYy24zEOhaQxeoh6Eh+yxzOUYnKdWBC81JB+b\n"
    "-----END PRIVATE KEY-----\n";
