# SPDX-License-Identifier: MIT
# cmake "-DIN=a|b|c" -DOUT=playground_files.c -P playground.cmake: embeds the playground's files
# (playground/*) as C byte arrays with their names, so the emulator serves them offline with no
# files to install (playground.h).
string(REPLACE "|" ";" files "${IN}")
set(arrays "")
set(rows "")
set(i 0)
foreach(f IN LISTS files)
	if(f STREQUAL "")
		continue()
	endif()
	get_filename_component(name "${f}" NAME)
	file(READ "${f}" hex HEX)
	string(LENGTH "${hex}" nhex)
	math(EXPR len "${nhex} / 2")
	string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
	string(REGEX REPLACE "((0x..,){16})" "\\1\n\t" bytes "${bytes}")
	string(APPEND arrays "static const unsigned char f${i}[] = {\n\t${bytes}0x00};\n")
	string(APPEND rows "\t{\"${name}\", f${i}, ${len}},\n")
	math(EXPR i "${i} + 1")
endforeach()
file(WRITE "${OUT}.tmp"
	"/* Generated from playground/ by playground.cmake; do not edit. */\n"
	"#include \"playground.h\"\n\n"
	"${arrays}\n"
	"const struct playground_file playground_files[] = {\n${rows}\t{0, 0, 0}};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
