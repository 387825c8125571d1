/* SPDX-License-Identifier: MIT */
/*
 * The libFuzzer entry point every fuzz_<parser>.c defines. The same source links either with
 * libFuzzer (-DSP_FUZZ=ON, clang) or with replay.c, which feeds it a corpus from files.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Runs the parser under test on data[0, size). Returns 0 (libFuzzer's convention). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
