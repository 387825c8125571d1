# SPDX-License-Identifier: MIT
# cmake -DIN=repl.py -DOUT=repl_src.c -P embed.cmake: turns a file into a C byte array, so the
# zygote never looks for its REPL helper at run time.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR len "${nhex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n\t" bytes "${bytes}")
file(WRITE "${OUT}.tmp"
	"/* Generated from ${IN} by embed.cmake; do not edit. */\n"
	"#include \"repl_src.h\"\n\n"
	"const unsigned char sbx_repl_src[] = {\n\t${bytes}0x00};\n"
	"const size_t sbx_repl_src_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
